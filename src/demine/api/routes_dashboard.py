"""What the web page's dashboard, settlement page and review screen read.

Each answer is assembled in the service layer (``service.dashboard``,
``service.queries``, ``service.records``) with the caller's permissions applied there,
so the routes only translate between HTTP and those calls.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from demine.api.models import Key
from demine.api.security import Caller
from demine.service import dashboard, records

router = APIRouter(prefix="/api/v1")


@router.get("/dashboard", tags=["indicators"])
def district_dashboard(request: Request, who: Caller) -> dict[str, Any]:
    """The headline and its trend, land released by method and month, findings by
    category, accidents and victims (counts; by sex and age only with read_personal),
    and the teams with what they are working on."""
    return dashboard.dashboard(request.app.state.repo, who)


@router.get("/settlements/{code}/blockers", tags=["settlements"])
def settlement_blockers(code: Key, request: Request, who: Caller) -> dict[str, Any]:
    """The hazard areas that keep a settlement closed and what remains of each."""
    return dashboard.settlement_page(request.app.state.repo, code, who)


@router.get("/reports/{code}/entries", tags=["reports"])
def report_entries(code: Key, request: Request, who: Caller) -> dict[str, Any]:
    """What a report proposes, entry by entry, for its review beside the record."""
    return {"code": code,
            "items": records.report_entries(request.app.state.repo, code, who)}
