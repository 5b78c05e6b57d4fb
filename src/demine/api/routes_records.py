"""Lists, single records and their history, for every kind of record.

One route per resource is generated from ``service.records.RECORD_SETS`` so that the
OpenAPI document lists exactly the filters each resource accepts.
"""

from __future__ import annotations

import inspect
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator

from demine.api.models import HistoryOut, Key, RecordPage, storable
from demine.api.security import Caller
from demine.service import dashboard, records
from demine.service.records import MAX_LIMIT, RecordSet

router = APIRouter(prefix="/api/v1")


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError:
        raise ValueError("bbox: expected four numbers: minx,miny,maxx,maxy") from None
    try:
        return records.check_bbox(numbers)
    except records.ValidationError as exc:
        raise ValueError(f"bbox: {exc.problem}") from None


Bbox = Annotated[str | None, AfterValidator(parse_bbox),
                 Query(description="minx,miny,maxx,maxy in WGS84 degrees", max_length=200)]


def _next_link(request: Request, page: records.Page) -> str | None:
    if not page.more:
        return None
    return str(request.url.include_query_params(offset=page.offset + page.limit))


def _lister(rs: RecordSet):
    def list_records(request: Request, who: Caller, **params: Any) -> RecordPage:
        filters = {k: params[k] for k in rs.filters if params.get(k) is not None}
        query = records.Query(
            limit=params["limit"], offset=params["offset"], bbox=params.get("bbox"),
            date_from=params.get("date_from"), date_to=params.get("date_to"),
            filters=filters, sort=params.get("sort"))
        page = records.list_records(request.app.state.repo, rs, query, who)
        return RecordPage(items=page.items, limit=page.limit, offset=page.offset,
                          total=page.total, next=_next_link(request, page))

    kw = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter("request", kw, annotation=Request),
        inspect.Parameter("who", kw, annotation=Caller),
        inspect.Parameter("limit", kw, annotation=Annotated[int, Query(ge=1, le=MAX_LIMIT)],
                          default=records.DEFAULT_LIMIT),
        inspect.Parameter("offset", kw, annotation=Annotated[int, Query(ge=0, le=10**9)],
                          default=0),
        inspect.Parameter("sort", kw, annotation=Annotated[str | None, Query(
            description="a field name; prefix '-' for descending", max_length=64,
            pattern=r"^[-+]?[a-z_0-9]+$")], default=None),
    ]
    if rs.spatial:
        params.append(inspect.Parameter("bbox", kw, annotation=Bbox, default=None))
    if rs.date_column:
        for name, alias, rel in (("date_from", "from", "on or after"),
                                 ("date_to", "to", "on or before")):
            params.append(inspect.Parameter(name, kw, annotation=Annotated[
                date | datetime | None, Query(alias=alias, description=f"{rs.date_column} "
                                              f"{rel} this date or time")], default=None))
    for name in rs.filters:
        params.append(inspect.Parameter(name, kw, annotation=Annotated[
            str | None, Query(max_length=64), AfterValidator(storable)], default=None))
    list_records.__signature__ = inspect.Signature(params, return_annotation=RecordPage)
    list_records.__name__ = f"list_{rs.name}"
    return list_records


def _getter(rs: RecordSet):
    def get_record(key: Key, request: Request, response: Response,
                   who: Caller) -> dict[str, Any]:
        record = records.get_record(request.app.state.repo, rs, key, who)
        if "version" in record:
            response.headers["ETag"] = f'"{record["version"]}"'
        return record

    get_record.__name__ = f"get_{rs.name}"
    return get_record


def _historian(rs: RecordSet):
    def get_history(key: Key, request: Request, who: Caller) -> HistoryOut:
        return HistoryOut(items=records.history(request.app.state.repo, rs, key, who))

    get_history.__name__ = f"history_of_{rs.name}"
    return get_history


for _rs in records.RECORD_SETS.values():
    _key = "{key}"
    router.add_api_route(f"/{_rs.name}", _lister(_rs), methods=["GET"],
                         response_model=RecordPage, tags=[_rs.name], summary=f"List {_rs.title}")
    router.add_api_route(f"/{_rs.name}/{_key}", _getter(_rs), methods=["GET"],
                         response_model=dict[str, Any], tags=[_rs.name],
                         summary=f"One of {_rs.title}, at its current version")
    router.add_api_route(f"/{_rs.name}/{_key}/history", _historian(_rs), methods=["GET"],
                         response_model=HistoryOut, tags=[_rs.name],
                         summary="The record's audit trail, oldest first")


@router.get("/indicators", tags=["indicators"])
def indicators(request: Request, who: Caller) -> dict[str, Any]:
    """The district's headline and its trend material: closures, land, finds."""
    return dashboard.indicators(request.app.state.repo)
