"""The shapes of request bodies: strict, so an unknown or mistyped field is a 422 that
names it rather than something silently ignored."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from demine.domain.vocab import ChangeKind


def storable(value: Any) -> Any:
    """Refuse text no store can keep: a NUL character (PostgreSQL text cannot hold one) or
    an unpaired surrogate (not UTF-8), anywhere in a value; the complaint says where."""
    where = _unstorable(value, "")
    if where is not None:
        raise ValueError(f"{where + ': ' if where else ''}text must not contain a NUL "
                         "character or an unpaired surrogate")
    return value


def _unstorable(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value or not _utf8(value) else None
    if isinstance(value, dict):
        items = [(str(k), k) for k in value] + [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value)]
    else:
        return None
    for key, item in items:
        found = _unstorable(item, f"{path}.{key}" if path else key)
        if found is not None:
            return found
    return None


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: Text (or a JSON value holding text) that can be stored as it is.
Text = Annotated[str, AfterValidator(storable)]
Json = Annotated[dict[str, Any], AfterValidator(storable)]
#: A record's code or id in a path: what cannot be stored cannot name a record.
Key = Text


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Strict):
    username: Text = Field(min_length=1, max_length=64)
    password: Text = Field(min_length=1, max_length=1024)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    username: str
    role: str
    organisation: str | None


class PrincipalOut(BaseModel):
    username: str
    role: str
    organisation: str | None
    permissions: list[str]


class PasswordIn(Strict):
    old_password: Text = Field(min_length=1, max_length=1024)
    new_password: Text = Field(min_length=1, max_length=1024)


class EntryIn(Strict):
    kind: ChangeKind
    payload: Json


class ReportIn(Strict):
    organisation: Text = Field(min_length=1, max_length=64)
    info_date: date
    summary: Text = Field(default="", max_length=4000)
    entries: list[EntryIn] = Field(min_length=1, max_length=500)


class ReportOut(BaseModel):
    code: str
    status: str
    version: int


class ReasonIn(Strict):
    reason: Text = Field(min_length=1, max_length=4000)


class ApprovalOut(BaseModel):
    code: str
    status: str
    hazards_changed: list[str]
    settlements_reopened: list[str]
    settlements_closed: list[str]


class RecordPage(BaseModel):
    items: list[dict[str, Any]]
    limit: int
    offset: int
    total: int | None
    next: str | None


class HistoryOut(BaseModel):
    items: list[dict[str, Any]]


class VersionOut(BaseModel):
    code: str
    version: int


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def settable(**constraints: Any) -> Any:
    """A field a patch may leave out, but not set to null: the record needs a value there.

    Typed without ``None``, so an explicit null is a 422 naming the field, not an empty
    column the store refuses; the document shows the field as optional, not nullable.
    """
    return Field(default=None, json_schema_extra=_no_default, **constraints)


class OrganisationPatch(Strict):
    version: int | None = Field(default=None, ge=1)
    name: Text = settable(min_length=1, max_length=400)


class TeamPatch(Strict):
    version: int | None = Field(default=None, ge=1)
    headcount: int = settable(ge=0, le=10000)
    productivity_m2_day: float = settable(gt=0, le=1e7)
    #: null clears it: a team without a machine has no working width
    working_width_m: float | None = Field(default=None, gt=0, le=100)
    available: bool = settable()


class SettlementPatch(Strict):
    version: int | None = Field(default=None, ge=1)
    name: Text = settable(min_length=1, max_length=400)
    admin_area: Text = settable(max_length=400)
    population: int = settable(ge=0, le=100_000_000)
    point: Json = settable(description="GeoJSON Point, WGS84")
    #: null removes the footprint: the settlement is its point again
    footprint: Json | None = Field(default=None,
                                             description="GeoJSON Polygon, WGS84")
