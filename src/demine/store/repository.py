"""The Repository: the one door to the record, whatever database is behind it.

Every write goes through a :class:`UnitOfWork`: one database transaction that checks
versions (no lost updates), never deletes operational rows, and leaves an audit record
with author, time, action, reason and the row before and after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Engine, Table, create_engine, event, func, insert, select, update

from demine.domain.errors import DemineError, NotFound, StaleVersion
from demine.domain.landrelease import ReleaseRules
from demine.domain.settlements import DEFAULT_CLOSURE_DISTANCE_M
from demine.geo.crs import MetricFrame
from demine.store import migrate
from demine.store import schema as s
from demine.store.spatial import SpatialBackend, backend_for, register_sqlite_functions

DEFAULT_DB_FILE = "demine.sqlite"

ENTITY_OF_TABLE = {
    "organisations": "organisation", "teams": "team", "settlements": "settlement",
    "hazard_areas": "hazard_area", "activities": "activity", "reports": "report",
    "accidents": "accident", "outcome_polygons": "outcome_polygon", "findings": "finding",
    "evidence_items": "evidence_item", "settings": "setting", "roads": "road",
    "qc_inspections": "qc_inspection", "users": "user",
    "form_submissions": "form_submission",
}
#: Metric copies of geometries are derived; the audit keeps the WGS84 shape only. A
#: password hash is no business of anyone reading the audit trail.
_DERIVED_COLUMNS = frozenset({"closure_m", "remaining_m", "created_at", "updated_at",
                              "password_hash"})


def resolve_db_url(db: str | None = None) -> str:
    """``--db``, else ``DEMINE_DB``, else ``./demine.sqlite``: the same for every command."""
    value = db or os.environ.get("DEMINE_DB") or DEFAULT_DB_FILE
    if value.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _jsonable_value(key: str, value: Any) -> Any:
    if isinstance(value, BaseGeometry):
        return shapely.to_wkt(value, rounding_precision=8, trim=True)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def row_snapshot(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A JSON-safe copy of a row for the audit trail."""
    if row is None:
        return None
    return {k: _jsonable_value(k, v) for k, v in row.items() if k not in _DERIVED_COLUMNS}


@dataclass(frozen=True)
class ProjectSettings:
    """National and project settings, stored in the database so every door agrees."""

    metric_crs: str | None
    closure_distance_m: float
    rules: ReleaseRules
    name: str

    @property
    def frame(self) -> MetricFrame:
        if self.metric_crs is None:
            raise DemineError(
                "project: metric_crs: not set yet; run `demine init --metric-crs EPSG:xxxxx` "
                "or load data so the UTM zone of its centroid can be chosen"
            )
        return MetricFrame(self.metric_crs)


class Repository:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url)
        self.dialect = self.engine.dialect.name
        self.spatial: SpatialBackend = backend_for(self.dialect)
        if self.dialect == "sqlite":
            _sqlite_serialised_writes(self.engine)

    @classmethod
    def open(cls, db: str | None = None, *, create: bool = True) -> Repository:
        """Open (and create or upgrade, unless told not to) the database ``db`` names."""
        url = resolve_db_url(db)
        if not create and url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if not path.exists():
                raise DemineError(f"database {path}: does not exist; run `demine init` to "
                                  "create it, or `demine demo` for the demo district")
        repo = cls(url)
        if create:
            migrate.upgrade(repo.engine)
        elif migrate.current_revision(repo.engine) != migrate.head_revision():
            raise DemineError(
                f"database {repo.display_url}: schema is not at the current revision; "
                "run `demine init` to create or upgrade it"
            )
        return repo

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def unit(self, author: str, reason: str) -> Iterator[UnitOfWork]:
        """One transaction: everything inside commits together or not at all."""
        if not author or not author.strip():
            raise DemineError("every write needs an author")
        with self.engine.begin() as conn:
            yield UnitOfWork(conn, self, author.strip(), reason)

    @contextmanager
    def reader(self) -> Iterator[UnitOfWork]:
        """A read-only transaction: one consistent view, and no write lock on SQLite."""
        with self.engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            yield UnitOfWork(conn, self, "reader", "read")
            conn.rollback()

    def settings(self) -> ProjectSettings:
        with self.reader() as uow:
            return uow.settings()


#: Execution option marking a connection that only reads (see ``Repository.reader``).
READ_ONLY = "demine_read_only"

#: Address space SQLite may map for reads, and its page cache, per connection.
SQLITE_MMAP_BYTES = 1 << 30
SQLITE_CACHE_KIB = 64 * 1024


def _sqlite_serialised_writes(engine: Engine) -> None:
    """Make SQLite take its write lock at BEGIN, so version checks cannot race."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        dbapi_connection.execute("PRAGMA busy_timeout = 10000")
        # Reads of national layers are page lookups in a file the OS already caches:
        # mapping it saves a copy per page, and a larger page cache keeps the R*Tree hot.
        dbapi_connection.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
        dbapi_connection.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        register_sqlite_functions(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        # Readers begin deferred: an IMMEDIATE reader would hold the write lock and make
        # every concurrent reader (each server request) wait its turn behind it.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class UnitOfWork:
    """The SQL of one transaction, in the words of the record (insert, update, audit)."""

    def __init__(self, conn: Connection, repo: Repository, author: str, reason: str) -> None:
        self.conn = conn
        self.repo = repo
        self.author = author
        self.reason = reason
        self.now = utcnow()
        self._settings: ProjectSettings | None = None

    @property
    def spatial(self) -> SpatialBackend:
        return self.repo.spatial

    def serialise(self, topic: str) -> None:
        """Hold a transaction-long lock so that writers on ``topic`` run one at a time.

        Approvals refold hazards and then derive settlement status from *all* hazards;
        two approvals interleaved on PostgreSQL could each miss the other's hazards.
        SQLite already runs one writer at a time (BEGIN IMMEDIATE).
        """
        if self.repo.dialect == "postgresql":
            self.conn.execute(select(func.pg_advisory_xact_lock(
                func.hashtext(f"demine:{topic}"))))

    # settings -----------------------------------------------------------
    def settings(self) -> ProjectSettings:
        if self._settings is None:
            values = dict(self.conn.execute(select(s.settings.c.key, s.settings.c.value)).all())
            defaults = ReleaseRules()
            self._settings = ProjectSettings(
                metric_crs=values.get("metric_crs"),
                closure_distance_m=float(
                    values.get("closure_distance_m", DEFAULT_CLOSURE_DISTANCE_M)),
                rules=ReleaseRules(
                    inside_tolerance_m=float(
                        values.get("inside_tolerance_m", defaults.inside_tolerance_m)),
                    overlap_tolerance_m2=float(
                        values.get("overlap_tolerance_m2", defaults.overlap_tolerance_m2)),
                    released_below_m2=float(
                        values.get("released_below_m2", defaults.released_below_m2)),
                ),
                name=values.get("name", "demine project"),
            )
        return self._settings

    def set_setting(self, key: str, value: str) -> None:
        old = self.conn.execute(
            select(s.settings.c.value).where(s.settings.c.key == key)).scalar_one_or_none()
        if old == value:
            return
        if old is None:
            self.conn.execute(insert(s.settings).values(key=key, value=value))
        else:
            self.conn.execute(update(s.settings).where(s.settings.c.key == key).values(value=value))
        self.audit("setting", 0, key, 1, "configure", {key: old}, {key: value})
        self._settings = None

    # generic record operations -------------------------------------------
    def audit(self, entity: str, entity_id: int, code: str | None, version: int, action: str,
              before: Mapping | None, after: Mapping | None, report_id: int | None = None,
              reason: str | None = None) -> None:
        self.conn.execute(insert(s.audit_log).values(
            entity=entity, entity_id=entity_id, entity_code=code, version=version,
            author=self.author, at=self.now, action=action, reason=reason or self.reason,
            report_id=report_id, before=before, after=after,
        ))

    def row(self, table: Table, *, code: str | None = None, id: int | None = None,
            for_update: bool = False) -> dict[str, Any] | None:
        query = select(table)
        query = query.where(table.c.code == code) if code is not None else query.where(
            table.c.id == id)
        if for_update and self.repo.dialect == "postgresql":
            query = query.with_for_update()
        found = self.conn.execute(query).mappings().first()
        return dict(found) if found is not None else None

    def require(self, table: Table, code: str, *, for_update: bool = False) -> dict[str, Any]:
        found = self.row(table, code=code, for_update=for_update)
        if found is None:
            raise NotFound(ENTITY_OF_TABLE.get(table.name, table.name), code)
        return found

    def id_of(self, table: Table, code: str) -> int:
        found = self.conn.execute(select(table.c.id).where(table.c.code == code)).scalar()
        if found is None:
            raise NotFound(ENTITY_OF_TABLE.get(table.name, table.name), code)
        return int(found)

    def insert(self, table: Table, values: Mapping[str, Any], *, report_id: int | None = None,
               action: str = "create") -> int:
        """Insert a record at version 1 and audit it."""
        values = dict(values)
        if "version" in table.c:
            values.update(version=1, created_at=self.now, updated_at=self.now)
            if "synthetic" in table.c:
                values.setdefault("synthetic", False)
        query = insert(table).values(**values).returning(table.c.id)
        new_id = self.conn.execute(query).scalar_one()
        after = self.row(table, id=new_id)
        self.audit(ENTITY_OF_TABLE.get(table.name, table.name), new_id,
                   values.get("code", values.get("username")), values.get("version", 1),
                   action, None, row_snapshot(after), report_id)
        return int(new_id)

    def update(self, table: Table, row_id: int, values: Mapping[str, Any], *,
               expected_version: int | None = None, action: str = "update",
               report_id: int | None = None, reason: str | None = None,
               beside: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None) -> int:
        """Change a record, refusing a stale version; returns the version now stored.

        Nothing is written (and no version spent) when no value actually changes.
        ``beside``: what the caller changed of the record outside its row (an accident's
        victims), as a summary before and after (counts, never personal data): written
        into the audit's before and after, and a new version even when no column
        changes.
        """
        before = self.row(table, id=row_id, for_update=True)
        if before is None:
            raise NotFound(ENTITY_OF_TABLE.get(table.name, table.name), row_id)
        code = before.get("code", before.get("username"))
        versioned = "version" in table.c
        if versioned and expected_version is not None and before["version"] != expected_version:
            raise StaleVersion(ENTITY_OF_TABLE[table.name], str(code or row_id),
                               expected_version, before["version"])
        changed = {k: v for k, v in values.items() if not _same(before.get(k), v)}
        if not changed and beside is None:
            return int(before.get("version", 1))
        version = int(before.get("version", 0)) + 1 if versioned else 1
        if versioned:
            changed.update(version=version, updated_at=self.now)
        query = update(table).where(table.c.id == row_id).values(**changed)
        if versioned:
            query = query.where(table.c.version == before["version"])
        if self.conn.execute(query).rowcount != 1:
            raise StaleVersion(ENTITY_OF_TABLE[table.name], str(code or row_id),
                               expected_version or before["version"], -1)
        after = self.row(table, id=row_id)
        noted = ({}, {}) if beside is None else beside
        self.audit(ENTITY_OF_TABLE.get(table.name, table.name), row_id, code, version, action,
                   {**row_snapshot(before), **noted[0]}, {**row_snapshot(after), **noted[1]},
                   report_id, reason)
        return version

    def metric(self, geom: BaseGeometry | None) -> BaseGeometry | None:
        """The metric copy of a WGS84 geometry, carrying the project's SRID."""
        if geom is None:
            return None
        frame = self.settings().frame
        return shapely.set_srid(frame.to_metric(geom), frame.epsg)

    def next_code(self, table: Table, prefix: str) -> str:
        count = self.conn.execute(select(func.count()).select_from(table)).scalar_one()
        n = int(count) + 1
        while self.conn.execute(
                select(table.c.id).where(table.c.code == f"{prefix}-{n:06d}")).first():
            n += 1
        return f"{prefix}-{n:06d}"


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, BaseGeometry) or isinstance(new, BaseGeometry):
        if old is None or new is None:
            return old is new
        return bool(shapely.equals_exact(old, new, tolerance=0.0)) and \
            old.geom_type == new.geom_type
    if isinstance(old, datetime) and isinstance(new, datetime):
        return old.replace(tzinfo=None) == new.replace(tzinfo=None)
    if isinstance(old, float) or isinstance(new, float):
        try:
            return abs(float(old) - float(new)) < 1e-9
        except (TypeError, ValueError):
            return False
    return old == new
