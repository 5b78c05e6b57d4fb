"""The map's label glyphs, served by demine itself (field offices are offline): each block
of 256 code points decodes, with the message definition written here from MapLibre's
glyphs.proto rather than taken from the script that wrote the files, to signed distance
fields of the standard shape (24 px glyphs, 3 px border, outline at level 191)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from fastapi.testclient import TestClient
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from demine.api.app import create_app
from demine.api.config import ServerConfig
from demine.store import Repository
from demine.web import GLYPHS, fontstacks
from server_fixtures import SECRET

FONTSTACK = "DejaVu Sans Book"  # the style's text-font (mapstyle.js LABEL_FONT)
BORDER = 3
EDGE = 191


def glyphs_message() -> type[Message]:
    """``llmr.glyphs.glyphs``: stacks (1) of fontstack {name 1, range 2, glyphs 3} of
    glyph {id 1, bitmap 2, width 3, height 4, left 5 (sint), top 6 (sint), advance 7}."""
    f = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="test_glyphs.proto", package="llmr.glyphs",
                                               syntax="proto2")
    glyph = proto.message_type.add(name="glyph")
    for name, number, kind in (("id", 1, f.TYPE_UINT32), ("bitmap", 2, f.TYPE_BYTES),
                               ("width", 3, f.TYPE_UINT32), ("height", 4, f.TYPE_UINT32),
                               ("left", 5, f.TYPE_SINT32), ("top", 6, f.TYPE_SINT32),
                               ("advance", 7, f.TYPE_UINT32)):
        glyph.field.add(name=name, number=number, type=kind, label=f.LABEL_OPTIONAL)
    stack = proto.message_type.add(name="fontstack")
    stack.field.add(name="name", number=1, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
    stack.field.add(name="range", number=2, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
    stack.field.add(name="glyphs", number=3, type=f.TYPE_MESSAGE, label=f.LABEL_REPEATED,
                    type_name=".llmr.glyphs.glyph")
    top = proto.message_type.add(name="glyphs")
    top.field.add(name="stacks", number=1, type=f.TYPE_MESSAGE, label=f.LABEL_REPEATED,
                  type_name=".llmr.glyphs.fontstack")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("llmr.glyphs.glyphs"))


GLYPHS_MESSAGE = glyphs_message()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The server over an empty store: glyphs do not depend on the record."""
    url = f"sqlite:///{tmp_path_factory.mktemp('glyphs')}/empty.sqlite"
    repo = Repository.open(url)
    with TestClient(create_app(ServerConfig(db=url, secret=SECRET), repo)) as test_client:
        yield test_client
    repo.close()


def fetch_block(client: TestClient, glyph_range: str) -> bytes:
    response = client.get(f"/glyphs/{quote(FONTSTACK)}/{glyph_range}.pbf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-protobuf"
    return response.content


def decode(data: bytes, glyph_range: str) -> dict[int, Message]:
    message = GLYPHS_MESSAGE()
    message.ParseFromString(data)
    [stack] = message.stacks
    assert stack.name == FONTSTACK and stack.range == glyph_range
    start, end = map(int, glyph_range.split("-"))
    by_id = {g.id: g for g in stack.glyphs}
    assert len(by_id) == len(stack.glyphs) and all(start <= i <= end for i in by_id)
    return by_id


def sdf(glyph: Message) -> np.ndarray:
    """The glyph's bitmap as rows of bytes, checking its size first."""
    rows, cols = glyph.height + 2 * BORDER, glyph.width + 2 * BORDER
    assert len(glyph.bitmap) == rows * cols, chr(glyph.id)
    return np.frombuffer(glyph.bitmap, dtype=np.uint8).reshape(rows, cols)


def test_the_latin_block_is_served_and_decodes_to_distance_fields(client) -> None:
    glyphs = decode(fetch_block(client, "0-255"), "0-255")
    for char in "AZaz09ÄÖÜéçñ-.,()":
        assert ord(char) in glyphs, f"{char!r} has no glyph"
    a = glyphs[ord("A")]
    # 'A' at 24 px: cap height about 17.5 px, a little narrower than tall
    assert 15 <= a.height <= 19 and 14 <= a.width <= 18 and 15 <= a.advance <= 18
    bitmap = sdf(a)
    inside = bitmap >= EDGE
    assert inside.sum() > 40, "the A has no inside"
    # the inside lies within the glyph's box (the border is for the halo only)...
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    assert rows[0] >= BORDER - 1 and rows[-1] <= BORDER + a.height
    assert cols[0] >= BORDER - 1 and cols[-1] <= BORDER + a.width
    # ...and fills it: the A's apex reaches the top row, its feet the bottom and sides
    assert rows[0] <= BORDER + 1 and rows[-1] >= BORDER + a.height - 2
    assert cols[0] <= BORDER + 1 and cols[-1] >= BORDER + a.width - 2
    # a distance field, not a mask: from the left foot outwards the level falls about
    # 32 a pixel (8 px of distance over 256 levels), reaching the border well below
    assert not inside[[0, -1], :].any() and not inside[:, [0, -1]].any()
    foot = bitmap[BORDER + a.height - 1]
    first = int(np.flatnonzero(foot >= EDGE)[0])
    outwards = foot[first::-1].astype(int)
    assert (np.diff(outwards) <= 0).all(), outwards
    assert outwards[0] - outwards[min(3, first)] >= 60, outwards
    # the O's middle is its hole: outside; its left stroke inside
    o = glyphs[ord("O")]
    ring = sdf(o)
    middle = BORDER + o.height // 2
    assert ring[middle, BORDER + o.width // 2] < EDGE - 64  # two pixels or more from ink
    assert ring[middle, BORDER:BORDER + 3].max() >= EDGE
    # 'A' stands on the baseline, 'g' hangs below it: top counts from the ascender
    g = glyphs[ord("g")]
    assert g.top - g.height < a.top - a.height
    space = glyphs[ord(" ")]
    assert space.width == space.height == 0 and not space.bitmap and space.advance > 0


@pytest.mark.parametrize("glyph_range", ["256-511", "512-767", "1024-1279"])
def test_latin_extended_and_cyrillic_blocks_are_served(client, glyph_range) -> None:
    glyphs = decode(fetch_block(client, glyph_range), glyph_range)
    assert len(glyphs) > 100
    for glyph in glyphs.values():
        if glyph.width:
            assert (sdf(glyph) >= EDGE).any(), chr(glyph.id)


#: block -> letters that must be in it: Hebrew; Arabic as typed (logical order, unjoined);
#: the joined forms MapLibre's RTL plugin shapes Arabic into (presentation forms B: alef
#: isolated and final, beh initial, medial and final, lam-alef ligature, teh marbuta
#: final); Persian and Urdu letters' forms (presentation forms A: peh, gaf isolated)
RTL_BLOCKS = {
    "1280-1535": "אבגדהוזחטיכלמנסעפצקרשתםןףץך",
    "1536-1791": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي،؟",
    "65024-65279": "\ufe8d\ufe8e\ufe91\ufe92\ufe90\ufefb\ufe94",
    "64256-64511": "\ufb56\ufb92",
}


@pytest.mark.parametrize("glyph_range", sorted(RTL_BLOCKS))
def test_hebrew_arabic_and_arabic_presentation_form_blocks_are_served(client,
                                                                      glyph_range) -> None:
    """Names in Arabic or Hebrew are drawn only with these: MapLibre asks for the
    blocks of the text as its RTL plugin shaped it (Arabic in its joined forms)."""
    glyphs = decode(fetch_block(client, glyph_range), glyph_range)
    for char in RTL_BLOCKS[glyph_range]:
        assert ord(char) in glyphs, f"U+{ord(char):04X} has no glyph"
        glyph = glyphs[ord(char)]
        assert glyph.width and glyph.height and glyph.advance, f"U+{ord(char):04X}"
        assert (sdf(glyph) >= EDGE).sum() >= 10, f"U+{ord(char):04X} has no inside"
    # an initial beh joins to the left: its ink reaches the right edge of its box...
    if glyph_range == "65024-65279":
        beh = glyphs[0xFE91]
        ink = np.flatnonzero((sdf(beh) >= EDGE).any(axis=0))
        assert ink[-1] >= BORDER + beh.width - 2
        # ...and the isolated alef is a tall, narrow stroke
        alef = glyphs[0xFE8D]
        assert alef.height > 2 * alef.width


def test_a_block_without_glyphs_is_an_empty_set_not_an_error(client) -> None:
    """MapLibre fails all of a tile's labels when one block fails; an empty block only
    leaves those characters out (CJK it draws itself, with the browser's fonts)."""
    assert fetch_block(client, "19968-20223") == b""
    assert not GLYPHS_MESSAGE.FromString(b"").stacks


@pytest.mark.parametrize("path", [
    "/glyphs/Comic%20Sans/0-255.pbf",
    "/glyphs/DejaVu%20Sans%20Book/0-100.pbf",
    "/glyphs/DejaVu%20Sans%20Book/1-256.pbf",
    "/glyphs/DejaVu%20Sans%20Book/65536-65791.pbf",
    "/glyphs/DejaVu%20Sans%20Book/..%2F..%2Findex.pbf",
])
def test_an_unknown_fontstack_or_range_is_404(client, path) -> None:
    response = client.get(path)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/json")


def test_the_glyphs_ship_in_the_package_with_their_licence() -> None:
    assert fontstacks() == [FONTSTACK]
    built = sorted(p.name for p in (GLYPHS / FONTSTACK).glob("*.pbf"))
    assert {"0-255.pbf", "256-511.pbf", "512-767.pbf"} <= set(built)
    assert {f"{block}.pbf" for block in RTL_BLOCKS} <= set(built)
    licence = (Path(GLYPHS).parent / "LICENSE").read_text(encoding="utf-8")
    assert "Bitstream Vera" in licence
