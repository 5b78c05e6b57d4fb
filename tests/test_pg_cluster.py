"""The throwaway cluster really is PostgreSQL with a working PostGIS.

If this fails, every PostGIS-parametrized store test fails with it; this test
says plainly that the cause is the test infrastructure, not the store.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from pg_cluster import ThrowawayPostgis


@pytest.mark.postgis
def test_fresh_database_has_postgis(postgis_server: ThrowawayPostgis) -> None:
    name = f"t_cluster_{uuid.uuid4().hex[:8]}"
    url = postgis_server.create_database(name)
    assert url == f"postgresql+psycopg://demine@127.0.0.1:{postgis_server.port}/{name}"
    try:
        with psycopg.connect(postgis_server.conninfo(name), autocommit=True) as conn:
            row = conn.execute("SELECT postgis_version()").fetchone()
            assert row is not None
            assert isinstance(row[0], str)
            assert row[0].startswith("3")

            row = conn.execute(
                "SELECT ST_Area(ST_GeomFromText('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))'))"
            ).fetchone()
            assert row is not None
            assert row[0] == pytest.approx(100.0)
    finally:
        postgis_server.drop_database(name)


@pytest.mark.postgis
def test_default_database_url(postgis_server: ThrowawayPostgis) -> None:
    assert postgis_server.url.endswith(f"127.0.0.1:{postgis_server.port}/demine_test")
    with postgis_server.connect() as conn:
        row = conn.execute("SELECT extname FROM pg_extension WHERE extname = 'postgis'").fetchone()
        assert row == ("postgis",)


def test_db_url_is_fresh_and_empty(db_url: str) -> None:
    if db_url.startswith("sqlite:///"):
        assert db_url.endswith("/demine.sqlite")
        return
    assert db_url.startswith("postgresql+psycopg://demine@127.0.0.1:")
    conninfo = psycopg.conninfo.make_conninfo(
        host="127.0.0.1",
        port=db_url.split(":")[-1].split("/")[0],
        user="demine",
        dbname=db_url.rsplit("/", 1)[1],
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' AND table_name <> 'spatial_ref_sys'"
        ).fetchone()
        assert row == (0,)
