"""Errors in words: every refusal names the field and the problem, and nothing is a 500.

demine's own errors map to HTTP statuses here, once, so routes never translate them.
"""

from __future__ import annotations

import contextlib
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from demine.domain.access import Forbidden
from demine.domain.errors import (
    DemineError,
    NotFound,
    StaleVersion,
    ValidationError,
    WorkflowError,
)
from demine.service.accounts import LoginFailed

log = logging.getLogger("demine.api")


class ErrorBody(BaseModel):
    """What every refusal looks like."""

    detail: str
    record: str | None = None
    field: str | None = None
    problem: str | None = None


#: The refusals any route may answer with.
REFUSALS = (
    (400, "bad request"), (401, "not logged in"), (403, "not allowed for this role"),
    (404, "no such record"), (409, "stale version or wrong workflow step"),
    (413, "body too large"), (422, "invalid field"), (428, "version missing"),
    (429, "too many failed logins"))


def refusals_as_json() -> dict[int, dict]:
    """The refusals declared as plain JSON, for routers whose answers are another media
    type (GeoJSON, OpenAPI, vector tiles): a ``model`` would file them under that type."""
    return {code: {"description": text, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorBody"}}}} for code, text in REFUSALS}


def _status(exc: DemineError) -> int:
    if isinstance(exc, LoginFailed):
        return 401
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, StaleVersion | WorkflowError):
        return 409
    if isinstance(exc, ValidationError):
        return 422
    return 400


def _body(exc: DemineError) -> dict:
    body = {"detail": str(exc)}
    if isinstance(exc, ValidationError):
        body.update(record=exc.record, field=exc.field, problem=exc.problem)
    return body


def _validation_message(exc: RequestValidationError) -> tuple[str, str, str]:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid":
        # the location of a JSON syntax error is a character offset, not a field
        at = [p for p in first.get("loc", ()) if p != "body"]
        reason = (first.get("ctx") or {}).get("error", "")
        problem = "not valid JSON" + (f" at character {at[0]}" if at else "") + \
            (f": {reason}" if reason else "")
        return "body", problem, f"body: {problem}"
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body",)]
    where = ".".join(loc) or "body"
    return where, first.get("msg", "invalid"), f"{where}: {first.get('msg', 'invalid')}"


def install(app: FastAPI) -> None:
    @app.exception_handler(DemineError)
    async def _demine_error(_request: Request, exc: DemineError) -> JSONResponse:
        return JSONResponse(_body(exc), status_code=_status(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        field, problem, message = _validation_message(exc)
        return JSONResponse({"detail": message, "record": "request", "field": field,
                             "problem": problem}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)


class BodyLimit:
    """Refuse request bodies above ``limit`` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send, self.limit)
            return
        seen = 0
        exceeded = started = False

        async def limited() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def answer(message: Message) -> None:
            # The app may catch _TooLarge while it parses the body and answer 400
            # ("error parsing the body"): that answer is replaced by the 413.
            nonlocal started
            if exceeded and not started:
                return
            started = True
            await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, limited, answer)
        if exceeded and not started:
            await _too_large(send, self.limit)


class _TooLarge(Exception):
    """Raised from inside ``receive`` to stop reading a body that is over the limit."""


async def _too_large(send: Send, limit: int) -> None:
    response = JSONResponse({"detail": f"request body is larger than {limit} bytes",
                             "field": "body", "problem": "too large"}, status_code=413)
    await send({"type": "http.response.start", "status": 413,
                "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
