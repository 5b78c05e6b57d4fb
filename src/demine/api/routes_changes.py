"""Changes: reports through their workflow, and versioned edits of reference data.

Operational data changes only through reports (draft, submit, approve or reject), as
the core defines; organisations, teams and settlements are edited directly but must
name the version they were read at (``If-Match`` or ``version``), so that two people
editing the same record cannot silently overwrite each other: the second gets 409.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, Response

from demine.api.models import (
    ApprovalOut,
    Key,
    OrganisationPatch,
    ReasonIn,
    ReportIn,
    ReportOut,
    SettlementPatch,
    TeamPatch,
    VersionOut,
)
from demine.api.security import Caller
from demine.domain.access import Permission, Principal
from demine.service import reference, reports
from demine.store import schema as s

router = APIRouter(prefix="/api/v1")

IfMatch = Annotated[str | None, Header(
    description='the version the change is based on, e.g. "3" (the ETag of a GET)',
    max_length=32)]


def _expected(if_match: str | None, body_version: int | None, what: str) -> int | None:
    if if_match is not None:
        text = if_match.strip().removeprefix("W/").strip('"')
        if not text.isdigit() or int(text) < 1:
            raise HTTPException(400, f"{what}: If-Match: expected a version number such as "
                                     f'"3", got {if_match!r}')
        if body_version is not None and body_version != int(text):
            raise HTTPException(400, f"{what}: If-Match says version {text} but the body "
                                     f"says {body_version}")
        return int(text)
    return body_version


def _report_row(request: Request, code: str) -> dict[str, Any]:
    with request.app.state.repo.reader() as uow:
        row = uow.require(s.reports, code)
        org = uow.row(s.organisations, id=row["organisation_id"])
    return {**row, "organisation_code": org["code"] if org else None}


def _own_report(request: Request, who: Principal, code: str, what: str) -> dict[str, Any]:
    who.require(Permission.REPORT, what)
    row = _report_row(request, code)
    who.require_organisation(row["organisation_code"], what)
    return row


@router.post("/reports", status_code=201, response_model=ReportOut, tags=["reports"])
def create_report(body: ReportIn, request: Request, response: Response,
                  who: Caller) -> ReportOut:
    """Store a draft; every entry is checked now, so a bad one is refused at once."""
    what = f"report for organisation {body.organisation}"
    who.require(Permission.REPORT, what)
    who.require_organisation(body.organisation, what)
    code = reports.create_draft(
        request.app.state.repo, author=who.username, organisation_code=body.organisation,
        info_date=body.info_date, summary=body.summary,
        entries=[(e.kind.value, e.payload) for e in body.entries])
    response.headers["Location"] = f"/api/v1/reports/{code}"
    response.headers["ETag"] = '"1"'
    return ReportOut(code=code, status="draft", version=1)


@router.post("/reports/{code}/submit", response_model=ReportOut, tags=["reports"])
def submit_report(code: Key, request: Request, who: Caller,
                  if_match: IfMatch = None) -> ReportOut:
    _own_report(request, who, code, f"submit report {code}")
    reports.submit(request.app.state.repo, code, who.username,
                   expected_version=_expected(if_match, None, f"report {code}"))
    row = _report_row(request, code)
    return ReportOut(code=code, status=row["status"], version=row["version"])


@router.post("/reports/{code}/approve", response_model=ApprovalOut, tags=["reports"])
def approve_report(code: Key, request: Request, who: Caller,
                   if_match: IfMatch = None) -> ApprovalOut:
    """Apply the report to the official record, all of it or none of it."""
    who.require(Permission.DECIDE, f"approve report {code}")
    result = reports.approve(request.app.state.repo, code, who.username,
                             expected_version=_expected(if_match, None, f"report {code}"))
    return ApprovalOut(code=code, status="approved",
                       hazards_changed=[h.code for h in result.hazards],
                       settlements_reopened=list(result.reopened),
                       settlements_closed=list(result.closed))


@router.post("/reports/{code}/reject", response_model=ReportOut, tags=["reports"])
def reject_report(code: Key, body: ReasonIn, request: Request, who: Caller,
                  if_match: IfMatch = None) -> ReportOut:
    who.require(Permission.DECIDE, f"reject report {code}")
    reports.reject(request.app.state.repo, code, who.username, body.reason,
                   expected_version=_expected(if_match, None, f"report {code}"))
    row = _report_row(request, code)
    return ReportOut(code=code, status=row["status"], version=row["version"])


def _patch(request: Request, response: Response, who: Principal, entity: str, code: str,
           if_match: str | None, body, edit) -> VersionOut:
    """One versioned edit; the answer carries the new version as its ETag."""
    what = f"{entity} {code}"
    who.require(Permission.EDIT_REFERENCE, f"edit {what}")
    expected = _expected(if_match, body.version, what)
    if expected is None:
        raise HTTPException(428, f"{what}: say which version you edit: send If-Match "
                                 '(the ETag of a GET, e.g. "3") or a "version" field')
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    with request.app.state.repo.unit(who.username, f"{what} edited") as uow:
        version = edit(uow, code, expected, changes)
    response.headers["ETag"] = f'"{version}"'
    return VersionOut(code=code, version=version)


@router.patch("/organisations/{code}", response_model=VersionOut, tags=["organisations"])
def edit_organisation(code: Key, body: OrganisationPatch, request: Request, response: Response,
                      who: Caller, if_match: IfMatch = None) -> VersionOut:
    return _patch(request, response, who, "organisation", code, if_match, body,
                  reference.update_organisation)


@router.patch("/teams/{code}", response_model=VersionOut, tags=["teams"])
def edit_team(code: Key, body: TeamPatch, request: Request, response: Response, who: Caller,
              if_match: IfMatch = None) -> VersionOut:
    return _patch(request, response, who, "team", code, if_match, body,
                  reference.update_team)


@router.patch("/settlements/{code}", response_model=VersionOut, tags=["settlements"])
def edit_settlement(code: Key, body: SettlementPatch, request: Request, response: Response,
                    who: Caller, if_match: IfMatch = None) -> VersionOut:
    """Edit a settlement; moving it re-derives whether it is closed."""
    return _patch(request, response, who, "settlement", code, if_match, body,
                  reference.update_settlement)
