"""The shapes of request bodies: strict, so an unknown or mistyped field is a 422 that
names it rather than something silently ignored."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from demine.domain.vocab import ChangeKind


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


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
    old_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class EntryIn(Strict):
    kind: ChangeKind
    payload: dict[str, Any]


class ReportIn(Strict):
    organisation: str = Field(min_length=1, max_length=64)
    info_date: date
    summary: str = Field(default="", max_length=4000)
    entries: list[EntryIn] = Field(min_length=1, max_length=500)


class ReportOut(BaseModel):
    code: str
    status: str
    version: int


class ReasonIn(Strict):
    reason: str = Field(min_length=1, max_length=4000)


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


class OrganisationPatch(Strict):
    version: int | None = Field(default=None, ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=400)


class TeamPatch(Strict):
    version: int | None = Field(default=None, ge=1)
    headcount: int | None = Field(default=None, ge=0, le=10000)
    productivity_m2_day: float | None = Field(default=None, gt=0, le=1e7)
    working_width_m: float | None = Field(default=None, gt=0, le=100)
    available: bool | None = None


class SettlementPatch(Strict):
    version: int | None = Field(default=None, ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=400)
    admin_area: str | None = Field(default=None, max_length=400)
    population: int | None = Field(default=None, ge=0, le=100_000_000)
    point: dict[str, Any] | None = Field(default=None, description="GeoJSON Point, WGS84")
    footprint: dict[str, Any] | None = Field(default=None,
                                             description="GeoJSON Polygon, WGS84")
