"""`demine forms build` and `demine forms ingest` as a user runs them, and the store
revision that remembers ingested submissions (upgrade from 0006 on both stores)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from demine.domain.entities import Organisation
from demine.domain.vocab import OrganisationKind
from demine.service import reference
from demine.store import Repository, migrate
from demine.store import schema as s
from demine_cli import run

FIXTURES = Path(__file__).parent / "fixtures"


def test_forms_build_writes_and_validates(tmp_path: Path) -> None:
    out = tmp_path / "forms"
    proc = run("forms", "build", str(out), db=str(tmp_path / "unused.sqlite"))
    assert proc.stdout.count("passed") == 4, proc.stdout
    assert "ODK Validate v" in proc.stdout
    assert len(list(out.glob("*.xlsx"))) == 4 and len(list(out.glob("*.xml"))) == 4


def _store_with_operator(db_url: str) -> None:
    run("init", "--metric-crs", "EPSG:32632", db=db_url)
    repo = Repository.open(db_url)
    try:
        with repo.unit("im.alice", "set-up") as uow:
            reference.add_organisation(uow, Organisation("OP-ALPHA", "Operator",
                                                         OrganisationKind.OPERATOR))
    finally:
        repo.close()


def test_forms_ingest_creates_drafts_then_nothing(db_url: str) -> None:
    _store_with_operator(db_url)
    csv = str(FIXTURES / "nts_kobo.csv")
    first = run("forms", "ingest", csv, "--org", "OP-ALPHA", "--user", "im.dana", db=db_url)
    assert "created 2 draft report(s), skipped 1 duplicate(s)" in first.stdout
    assert "RPT-000001" in first.stdout and "RPT-000002" in first.stdout
    again = run("forms", "ingest", csv, "--org", "OP-ALPHA", "--user", "im.dana", db=db_url)
    assert "created 0 draft report(s), skipped 3 duplicate(s)" in again.stdout
    listed = run("reports", "--status", "draft", db=db_url)
    assert "RPT-000001" in listed.stdout and "RPT-000002" in listed.stdout
    assert "im.dana" in listed.stdout


def test_forms_ingest_refusal_names_file_row_and_column(db_url: str, tmp_path: Path) -> None:
    _store_with_operator(db_url)
    bad = tmp_path / "nts.csv"
    bad.write_text((FIXTURES / "nts_kobo.csv").read_text().replace(
        '"45.005 9.015 209.0 5.0;', '"45.005 9.015 209.0 5.0;45.005 9.015 209.0 5.0;', 1)
        .replace("45.005 9.016 209.2 5.0;45.0056 9.016 210.1 5.0;", "", 1))
    proc = run("forms", "ingest", str(bad), "--org", "OP-ALPHA", db=db_url, ok=False)
    assert proc.returncode == 1
    message = " ".join(proc.stderr.split())
    assert "file nts.csv row 3: survey/area: a geoshape needs at least 3 distinct points" \
        in message, proc.stderr


def test_revision_0007_adds_the_submissions_table_to_an_0006_store(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        migrate.upgrade(engine, "0006")
        with engine.begin() as conn:  # the 0006 baseline was built from today's schema.py
            conn.execute(text("DROP TABLE form_submissions"))
        assert "form_submissions" not in inspect(engine).get_table_names()
        migrate.upgrade(engine, "0007")
        assert migrate.current_revision(engine) == "0007"
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(
                conn, opts={"compare_type": True}), s.metadata)
        ours = [d for d in diffs if "form_submissions" in repr(d)]
        assert ours == []
        columns = {c["name"] for c in inspect(engine).get_columns("form_submissions")}
        assert {"instance_uuid", "report_id", "source_file", "source_row"} <= columns
    finally:
        engine.dispose()
