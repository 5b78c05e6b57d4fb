"""The tables of the record, one definition for SQLite and PostGIS.

Geometry columns are WKB blobs on SQLite and PostGIS ``geometry`` on PostgreSQL
through one column type, so the Repository code above them is the same for both.
WGS84 geometries (``geom``) are what users see; ``*_m`` columns hold the same shapes
on the project's metric plane so that distances are computed in metres in SQL and in
shapely alike, and both backends give the same answer.
"""

from __future__ import annotations

import shapely
from geoalchemy2 import Geometry
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class Geom(TypeDecorator):
    """Shapely geometry stored as WKB (SQLite) or EWKB in a PostGIS geometry column.

    On PostGIS the value is bound as hex EWKB, which GeoAlchemy2 wraps in
    ST_GeomFromEWKT (metric shapes carry the project's SRID, set by the caller);
    reading back, GeoAlchemy2 gives an EWKB element and SQLite raw WKB, and shapely
    reads both.
    """

    impl = LargeBinary
    cache_ok = True
    # GeoAlchemy2's DDL hooks inspect these; the migrations create the indexes themselves.
    spatial_index = False
    use_N_D_index = False
    use_typmod = None

    def __init__(self, srid: int = 4326) -> None:
        super().__init__()
        self.srid = srid

    def load_dialect_impl(self, dialect):
        if dialect is not None and dialect.name == "postgresql":
            srid = self.srid if self.srid > 0 else -1
            return dialect.type_descriptor(
                Geometry(geometry_type="GEOMETRY", srid=srid, spatial_index=False)
            )
        return dialect.type_descriptor(LargeBinary()) if dialect is not None else LargeBinary()

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        if dialect.name == "postgresql":
            srid = shapely.get_srid(value) or self.srid
            return shapely.to_wkb(shapely.set_srid(value, srid), hex=True, include_srid=True)
        return shapely.to_wkb(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return shapely.from_wkb(getattr(value, "data", value))


def _audit_columns() -> list[Column]:
    return [
        Column("version", Integer, nullable=False, default=1),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Column("synthetic", Boolean, nullable=False, default=False),
    ]


settings = Table(
    "settings", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

organisations = Table(
    "organisations", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    *_audit_columns(),
)

teams = Table(
    "teams", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False),
    Column("asset_type", String(24), nullable=False),
    Column("headcount", Integer, nullable=False),
    Column("productivity_m2_day", Float, nullable=False),
    Column("working_width_m", Float),
    Column("available", Boolean, nullable=False, default=True),
    *_audit_columns(),
)

settlements = Table(
    "settlements", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("admin_area", Text, nullable=False),
    Column("population", Integer, nullable=False),
    Column("geom", Geom(), nullable=False),
    Column("footprint", Geom()),
    Column("closure_m", Geom(srid=0), nullable=False),
    Column("status", String(8), nullable=False, default="open"),
    *_audit_columns(),
    Index("ix_settlements_status", "status"),
)

roads = Table(
    "roads", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", Text, nullable=False, default=""),
    Column("road_class", String(16), nullable=False),
    Column("geom", Geom(), nullable=False),
    *_audit_columns(),
)

reports = Table(
    "reports", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("info_date", Date, nullable=False),
    Column("author", String(128), nullable=False),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("submitted_at", DateTime(timezone=True)),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", String(128)),
    Column("decision_reason", Text),
    Column("approval_seq", Integer, unique=True),
    *_audit_columns(),
)

report_entries = Table(
    "report_entries", metadata,
    Column("id", Integer, primary_key=True),
    Column("report_id", ForeignKey("reports.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("hazard_code", String(64)),
    UniqueConstraint("report_id", "seq"),
    Index("ix_report_entries_hazard_code", "hazard_code"),
)

hazard_areas = Table(
    "hazard_areas", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("classification", String(3), nullable=False),
    Column("declared_classification", String(3), nullable=False),
    Column("eo_suspected", JSON, nullable=False),
    Column("eo_confirmed", JSON, nullable=False),
    Column("blockages", JSON, nullable=False),
    Column("geom", Geom(), nullable=False),
    Column("remaining", Geom()),
    Column("remaining_m", Geom(srid=0)),
    Column("original_m2", Float, nullable=False),
    Column("cancelled_m2", Float, nullable=False, default=0.0),
    Column("reduced_m2", Float, nullable=False, default=0.0),
    Column("cleared_m2", Float, nullable=False, default=0.0),
    Column("remaining_m2", Float, nullable=False),
    Column("status", String(12), nullable=False),
    Column("report_id", ForeignKey("reports.id")),
    *_audit_columns(),
    Index("ix_hazard_areas_status", "status"),
)

settlement_blockers = Table(
    "settlement_blockers", metadata,
    Column("settlement_id", ForeignKey("settlements.id"), primary_key=True),
    Column("hazard_id", ForeignKey("hazard_areas.id"), primary_key=True),
    Index("ix_settlement_blockers_hazard", "hazard_id"),
)

evidence_items = Table(
    "evidence_items", metadata,
    Column("id", Integer, primary_key=True),
    Column("hazard_id", ForeignKey("hazard_areas.id"), nullable=False),
    Column("report_id", ForeignKey("reports.id")),
    Column("kind", String(8), nullable=False),
    Column("type", String(32), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("void", Boolean, nullable=False, default=False),
)

activities = Table(
    "activities", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("type", String(16), nullable=False),
    Column("hazard_id", ForeignKey("hazard_areas.id"), nullable=False),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False),
    Column("team_id", ForeignKey("teams.id")),
    Column("planned_start", Date),
    Column("planned_end", Date),
    Column("actual_start", Date),
    Column("actual_end", Date),
    Column("status", String(12), nullable=False),
    Column("suspension_reason", Text),
    Column("clearance_depth_mm", Integer),
    Column("info_date", Date),
    *_audit_columns(),
)

outcome_polygons = Table(
    "outcome_polygons", metadata,
    Column("id", Integer, primary_key=True),
    Column("activity_id", ForeignKey("activities.id"), nullable=False),
    Column("hazard_id", ForeignKey("hazard_areas.id"), nullable=False),
    Column("report_id", ForeignKey("reports.id")),
    Column("method", String(10), nullable=False),
    Column("geom", Geom(), nullable=False),
    Column("area_m2", Float, nullable=False),
    Column("info_date", Date, nullable=False),
    Column("void", Boolean, nullable=False, default=False),
    # set when a failed post-clearance inspection voided this outcome (revision 0003)
    Column("voided_by_qc_id", ForeignKey("qc_inspections.id")),
    Index("ix_outcome_polygons_hazard", "hazard_id"),
)

qc_inspections = Table(
    "qc_inspections", metadata,
    Column("id", Integer, primary_key=True),
    Column("activity_id", ForeignKey("activities.id"), nullable=False),
    Column("inspected_activity_id", ForeignKey("activities.id"), nullable=False),
    Column("hazard_id", ForeignKey("hazard_areas.id"), nullable=False),
    Column("report_id", ForeignKey("reports.id")),
    Column("plan", Text, nullable=False),
    Column("lot_units", Integer, nullable=False),
    Column("sample_units", Integer, nullable=False),
    Column("unit_m2", Float, nullable=False),
    Column("accept_number", Integer, nullable=False),
    Column("defects", Integer, nullable=False),
    Column("result", String(4), nullable=False),
    Column("lot_m2", Float, nullable=False),
    Column("inspected_m2", Float, nullable=False),
    Column("info_date", Date, nullable=False),
    Column("void", Boolean, nullable=False, default=False),
    Index("ix_qc_inspections_hazard", "hazard_id"),
)

findings = Table(
    "findings", metadata,
    Column("id", Integer, primary_key=True),
    Column("activity_id", ForeignKey("activities.id"), nullable=False),
    Column("report_id", ForeignKey("reports.id")),
    Column("geom", Geom(), nullable=False),
    Column("eo_category", String(20), nullable=False),
    Column("model", Text, nullable=False, default=""),
    Column("condition", String(10), nullable=False),
    Column("depth_mm", Integer),
    Column("disposal", String(20), nullable=False),
    Column("found_on", Date, nullable=False),
    Column("synthetic", Boolean, nullable=False, default=False),
    Column("void", Boolean, nullable=False, default=False),
)

accidents = Table(
    "accidents", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("accident_date", Date, nullable=False),
    Column("geom", Geom(), nullable=False),
    Column("type", String(10), nullable=False),
    Column("device_category", String(20), nullable=False),
    Column("activity_id", ForeignKey("activities.id")),
    Column("narrative", Text, nullable=False, default=""),
    Column("report_id", ForeignKey("reports.id")),
    Column("void", Boolean, nullable=False, default=False),
    *_audit_columns(),
)

victims = Table(
    "victims", metadata,
    Column("id", Integer, primary_key=True),
    Column("accident_id", ForeignKey("accidents.id"), nullable=False),
    Column("outcome", String(8), nullable=False),
    Column("role", String(10), nullable=False),
    Column("sex", String(8), nullable=False),
    Column("age", Integer),
    Column("activity_at_time", Text, nullable=False, default=""),
    # the report that recorded the victim (None: recorded before revision 0008), and the
    # one whose accident revision replaced it: a replaced victim is kept, void, so that
    # reversing that report can give it back
    Column("report_id", ForeignKey("reports.id")),
    Column("void", Boolean, nullable=False, default=False),
    Column("voided_by_report_id", ForeignKey("reports.id")),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("entity", String(24), nullable=False),
    Column("entity_id", Integer, nullable=False),
    Column("entity_code", String(64)),
    Column("version", Integer, nullable=False),
    Column("author", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("report_id", ForeignKey("reports.id")),
    Column("before", JSON),
    Column("after", JSON),
    Index("ix_audit_log_entity", "entity", "entity_id"),
    Index("ix_audit_log_code", "entity_code"),
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(24), nullable=False),
    Column("organisation_id", ForeignKey("organisations.id")),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: Login sessions: only a keyed hash of each token is stored, so a copy of the database
#: lets nobody in.
api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

#: Field-form submissions already turned into draft reports, by their instance uuid
#: (ODK's meta/instanceID): a second ingest of the same export creates nothing.
form_submissions = Table(
    "form_submissions", metadata,
    Column("id", Integer, primary_key=True),
    Column("instance_uuid", String(64), nullable=False, unique=True),
    Column("form_id", String(64), nullable=False),
    Column("form_version", String(32)),
    Column("report_id", ForeignKey("reports.id"), nullable=False),
    Column("source_file", Text, nullable=False),
    Column("source_row", Integer, nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
    Column("ingested_by", String(128), nullable=False),
)

#: Tables whose geometry gets a spatial index: R*Tree on SQLite, GiST on PostGIS.
SPATIAL_INDEXES: dict[str, tuple[str, ...]] = {
    "hazard_areas": ("geom", "remaining_m"),
    "settlements": ("geom", "closure_m"),
    "outcome_polygons": ("geom",),
    "findings": ("geom",),
    "accidents": ("geom",),
    "roads": ("geom",),
}
