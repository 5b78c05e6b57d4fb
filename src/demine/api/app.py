"""The FastAPI application: one store, one secret, the routers and the error rules."""

from __future__ import annotations

import os

from fastapi import FastAPI

from demine import __version__, web
from demine.api import (
    errors,
    routes_auth,
    routes_changes,
    routes_dashboard,
    routes_records,
    tiles,
)
from demine.api.config import ServerConfig, load_secret
from demine.api.errors import ErrorBody
from demine.api.ogc import router as ogc_router
from demine.api.security import LoginThrottle
from demine.store import Repository

#: Refusals every route may answer with, declared so that clients (and schemathesis)
#: know their shape.
COMMON_RESPONSES = {code: {"model": ErrorBody, "description": text}
                    for code, text in errors.REFUSALS}


def create_app(config: ServerConfig, repo: Repository | None = None) -> FastAPI:
    """The server over ``repo`` (opened from ``config.db`` when not given)."""
    app = FastAPI(
        title="demine", version=__version__,
        description="Mine action record, land release and planning: REST API, "
                    "OGC API - Features and vector tiles.",
        responses=COMMON_RESPONSES,
    )
    app.state.config = config
    app.state.repo = repo if repo is not None else Repository.open(config.db, create=False)
    app.state.throttle = LoginThrottle(config.login_failures_allowed, config.login_window_s)
    errors.install(app)
    app.include_router(routes_auth.router)
    app.include_router(routes_records.router)
    app.include_router(routes_changes.router)
    app.include_router(routes_dashboard.router)
    app.include_router(tiles.router)
    app.include_router(ogc_router)
    web.install(app)
    app.add_middleware(errors.BodyLimit, limit=config.max_body_bytes)
    return app


def app_from_environment() -> FastAPI:
    """The app ``demine serve`` starts in each worker: database and secret from the
    environment (``DEMINE_DB``, ``DEMINE_SECRET``/``DEMINE_SECRET_FILE``)."""
    return create_app(ServerConfig(db=os.environ.get("DEMINE_DB"), secret=load_secret()))
