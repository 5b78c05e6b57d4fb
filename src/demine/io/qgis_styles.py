"""QGIS default styles for the exported GeoPackage (the ``layer_styles`` table).

Information managers open the GeoPackage in QGIS; with the styles inside it, hazard
areas appear at once in land-release colours (IMAS 07.11: open red, worked on orange,
released green) and settlements as closed (red) or open (green), with no style files
to pass around. QGIS looks for a table ``layer_styles`` in the GeoPackage and loads the
row whose ``f_table_name`` is the layer and ``useAsDefault`` is true; the table below
has the columns and types QGIS itself creates when a user saves a style in a
GeoPackage, and is registered in ``gpkg_contents`` as an attributes table as QGIS (via
GDAL) does, which keeps the file valid under GDAL's ``validate_gpkg.py``.

Each style is a QGIS 3 QML document (categorised renderer on ``status``) and an SLD
1.1 equivalent for other clients.
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

QGIS_VERSION = "3.34.0-Prizren"
GEOMETRY_COLUMN = "geom"  # GDAL's GeoPackage default, used by every exported map layer


@dataclass(frozen=True)
class Category:
    value: str
    label: str
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class LayerStyle:
    """A categorised style of one layer: which field, which classes, which symbol."""

    layer: str
    name: str
    symbol: str  # "fill" or "marker"
    attribute: str
    categories: tuple[Category, ...]


_HAZARD = (
    Category("open", "Open: hazard not yet addressed", (227, 26, 28)),
    Category("worked_on", "Worked on: survey or clearance under way", (255, 127, 0)),
    Category("released", "Released: cancelled, reduced or cleared", (51, 160, 44)),
)
_SETTLEMENT = (
    Category("closed", "Closed: blocked by a hazard", (227, 26, 28)),
    Category("open", "Open", (51, 160, 44)),
)

#: The styles written into an exported GeoPackage, by layer name.
STYLES: dict[str, LayerStyle] = {s.layer: s for s in (
    LayerStyle("hazard_areas", "land release status", "fill", "status", _HAZARD),
    LayerStyle("remaining", "land release status", "fill", "status", _HAZARD),
    LayerStyle("settlements", "settlement status", "marker", "status", _SETTLEMENT),
    LayerStyle("settlement_footprints", "settlement status", "fill", "status", _SETTLEMENT),
)}


def _option(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "Option", name=name, type="QString", value=value)


def _symbol(parent: ET.Element, name: str, kind: str, rgb: tuple[int, int, int]) -> None:
    colour = f"{rgb[0]},{rgb[1]},{rgb[2]},255"
    symbol = ET.SubElement(parent, "symbol", type=kind, name=name, alpha="1" if kind ==
                           "marker" else "0.6", clip_to_extent="1", force_rhr="0")
    layer = ET.SubElement(symbol, "layer", {
        "class": "SimpleFill" if kind == "fill" else "SimpleMarker",
        "enabled": "1", "locked": "0", "pass": "0"})
    props = ET.SubElement(layer, "Option", type="Map")
    if kind == "fill":
        for key, value in (("color", colour), ("style", "solid"),
                           ("outline_color", f"{rgb[0]},{rgb[1]},{rgb[2]},255"),
                           ("outline_style", "solid"), ("outline_width", "0.4"),
                           ("outline_width_unit", "MM"), ("joinstyle", "bevel")):
            _option(props, key, value)
    else:
        for key, value in (("color", colour), ("name", "circle"), ("size", "3"),
                           ("size_unit", "MM"), ("outline_color", "35,35,35,255"),
                           ("outline_style", "solid"), ("outline_width", "0.2"),
                           ("outline_width_unit", "MM")):
            _option(props, key, value)


def qml(style: LayerStyle) -> str:
    """The QGIS 3 QML document of ``style``: a categorised renderer on its attribute."""
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="Symbology")
    renderer = ET.SubElement(root, "renderer-v2", type="categorizedSymbol",
                             attr=style.attribute, symbollevels="0", enableorderby="0",
                             forceraster="0", referencescale="-1")
    categories = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for index, cat in enumerate(style.categories):
        ET.SubElement(categories, "category", render="true", value=cat.value,
                      symbol=str(index), label=cat.label, type="string")
        _symbol(symbols, str(index), style.symbol, cat.rgb)
    source = ET.SubElement(renderer, "source-symbol")
    _symbol(source, "0", style.symbol, (190, 190, 190))
    ET.SubElement(root, "layerGeometryType").text = "2" if style.symbol == "fill" else "0"
    body = ET.tostring(root, encoding="unicode")
    return f"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n{body}\n"


_SLD = "http://www.opengis.net/sld"
_SE = "http://www.opengis.net/se"
_OGC = "http://www.opengis.net/ogc"


def sld(style: LayerStyle) -> str:
    """An SLD 1.1 version of ``style`` for clients other than QGIS."""
    ET.register_namespace("", _SLD)
    ET.register_namespace("se", _SE)
    ET.register_namespace("ogc", _OGC)
    root = ET.Element(f"{{{_SLD}}}StyledLayerDescriptor", version="1.1.0")
    named = ET.SubElement(root, f"{{{_SLD}}}NamedLayer")
    ET.SubElement(named, f"{{{_SE}}}Name").text = style.layer
    user = ET.SubElement(named, f"{{{_SLD}}}UserStyle")
    ET.SubElement(user, f"{{{_SE}}}Name").text = style.name
    fts = ET.SubElement(user, f"{{{_SE}}}FeatureTypeStyle")
    for cat in style.categories:
        rule = ET.SubElement(fts, f"{{{_SE}}}Rule")
        ET.SubElement(rule, f"{{{_SE}}}Name").text = cat.value
        ET.SubElement(ET.SubElement(rule, f"{{{_SE}}}Description"),
                      f"{{{_SE}}}Title").text = cat.label
        equal = ET.SubElement(ET.SubElement(rule, f"{{{_OGC}}}Filter"),
                              f"{{{_OGC}}}PropertyIsEqualTo")
        ET.SubElement(equal, f"{{{_OGC}}}PropertyName").text = style.attribute
        ET.SubElement(equal, f"{{{_OGC}}}Literal").text = cat.value
        colour = "#{:02x}{:02x}{:02x}".format(*cat.rgb)
        if style.symbol == "fill":
            sym = ET.SubElement(rule, f"{{{_SE}}}PolygonSymbolizer")
            fill = ET.SubElement(sym, f"{{{_SE}}}Fill")
        else:
            sym = ET.SubElement(rule, f"{{{_SE}}}PointSymbolizer")
            mark = ET.SubElement(ET.SubElement(sym, f"{{{_SE}}}Graphic"), f"{{{_SE}}}Mark")
            ET.SubElement(mark, f"{{{_SE}}}WellKnownName").text = "circle"
            fill = ET.SubElement(mark, f"{{{_SE}}}Fill")
        ET.SubElement(fill, f"{{{_SE}}}SvgParameter", name="fill").text = colour
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


#: The table as QGIS creates it in a GeoPackage (through GDAL) when a style is saved.
LAYER_STYLES_DDL = """
CREATE TABLE IF NOT EXISTS "layer_styles" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "f_table_catalog" TEXT(256),
  "f_table_schema" TEXT(256),
  "f_table_name" TEXT(256),
  "f_geometry_column" TEXT(256),
  "styleName" TEXT(30),
  "styleQML" TEXT,
  "styleSLD" TEXT,
  "useAsDefault" BOOLEAN,
  "description" TEXT,
  "owner" TEXT(30),
  "ui" TEXT(30),
  "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)
"""


def write_layer_styles(gpkg: str | Path, layers: Iterable[str]) -> list[str]:
    """Add default QGIS styles for those of ``layers`` that have one; return their names.

    Nothing is written when none of the layers has a style: an empty ``layer_styles``
    would only confuse.
    """
    styled = [STYLES[name] for name in layers if name in STYLES]
    if not styled:
        return []
    with sqlite3.connect(gpkg) as conn:
        conn.execute(LAYER_STYLES_DDL)
        conn.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
            "description, last_change) VALUES ('layer_styles', 'attributes', "
            "'layer_styles', 'QGIS layer styles', strftime('%Y-%m-%dT%H:%M:%fZ','now'))")
        for style in styled:
            conn.execute(
                'UPDATE layer_styles SET "useAsDefault" = 0 WHERE f_table_name = ?',
                (style.layer,))
            conn.execute(
                'INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, '
                'f_geometry_column, "styleName", "styleQML", "styleSLD", "useAsDefault", '
                'description, owner, ui) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, NULL)',
                ("", "", style.layer, GEOMETRY_COLUMN, style.name, qml(style), sld(style),
                 f"demine default: {style.name}", "demine"))
    conn.close()
    return [s.layer for s in styled]
