"""Throwaway PostgreSQL + PostGIS cluster for the test suite.

The store has to behave the same on SQLite and on PostGIS, so the PostGIS tests
run against a real server. Rather than depending on a server someone has set up
(and possibly filled with data), each test session starts its own cluster in a
temporary directory, on a free loopback port, and throws it away afterwards.
Missing binaries or a missing PostGIS extension raise ``RuntimeError`` instead
of skipping: a skipped PostGIS suite would let PostGIS-only breakage go green.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

PG_USER = "demine"
DEFAULT_DATABASE = "demine_test"
# PostgreSQL refuses to run as root; as root the cluster is run as this user.
SYSTEM_USER = "postgres"
_LIBDIR = Path("/usr/lib/postgresql")
_START_ATTEMPTS = 3


def find_pg_bindir() -> Path:
    """Locate the directory holding ``initdb`` and ``pg_ctl``.

    Debian keeps the server binaries off PATH in /usr/lib/postgresql/<major>/bin,
    so look there first (highest major version wins) and fall back to PATH.
    """
    candidates: list[tuple[int, Path]] = []
    if _LIBDIR.is_dir():
        for entry in _LIBDIR.iterdir():
            bindir = entry / "bin"
            if (
                entry.name.isdigit()
                and (bindir / "initdb").is_file()
                and (bindir / "pg_ctl").is_file()
            ):
                candidates.append((int(entry.name), bindir))
    if candidates:
        return max(candidates)[1]
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl", path=str(Path(initdb).parent)):
        return Path(initdb).parent
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found under "
        f"{_LIBDIR}/*/bin or on PATH; install the 'postgresql' and "
        "'postgresql-<major>-postgis-3' packages (scripts/test does this)"
    )


def free_port() -> int:
    """Ask the kernel for a currently unused TCP port on 127.0.0.1.

    The port is released before the server binds it, so another process could
    grab it in between; ``ThrowawayPostgis.start`` retries with a new port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayPostgis:
    """A PostgreSQL cluster with PostGIS that lives only as long as this object.

    Use as a context manager (or call ``start``/``stop``). The server listens on
    127.0.0.1 only, keeps its unix socket in its own temp dir and runs with
    fsync off: durability is worthless for test data and fsync is slow.
    """

    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir: Path = bindir if bindir is not None else find_pg_bindir()
        self.port: int = 0
        self.tmpdir: Path | None = None
        self._started = False

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self) -> ThrowawayPostgis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def datadir(self) -> Path:
        """Cluster data directory (inside the temp dir)."""
        return self._tmp / "data"

    @property
    def logfile(self) -> Path:
        """Server log; its tail is included in start-up errors."""
        return self._tmp / "server.log"

    @property
    def _tmp(self) -> Path:
        if self.tmpdir is None:
            raise RuntimeError("ThrowawayPostgis is not started")
        return self.tmpdir

    def start(self) -> None:
        """Create, start and prepare the cluster; clean up fully on failure."""
        if self._started:
            return
        try:
            self._make_tmpdir()
            self._initdb()
            self._start_server()
            self._started = True
            self.create_database(DEFAULT_DATABASE)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server immediately and delete everything it wrote.

        ``-m immediate`` because nothing needs to survive; safe to call twice.
        """
        try:
            if self._started:
                self._run(
                    [
                        str(self.bindir / "pg_ctl"),
                        "stop",
                        "-D",
                        str(self.datadir),
                        "-m",
                        "immediate",
                        "-w",
                    ],
                    check=False,
                )
        finally:
            self._started = False
            if self.tmpdir is not None:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
                self.tmpdir = None

    # -- databases -------------------------------------------------------------

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the default ``demine_test`` database."""
        return self.url_for(DEFAULT_DATABASE)

    def url_for(self, dbname: str) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of database ``dbname``."""
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{dbname}"

    def conninfo(self, dbname: str = DEFAULT_DATABASE) -> str:
        """libpq connection string for plain psycopg connections."""
        return f"host=127.0.0.1 port={self.port} user={PG_USER} dbname={dbname}"

    def connect(self, dbname: str = DEFAULT_DATABASE) -> psycopg.Connection:
        """Autocommit psycopg connection (CREATE/DROP DATABASE need autocommit)."""
        if not self._started:
            raise RuntimeError("ThrowawayPostgis is not started")
        return psycopg.connect(self.conninfo(dbname), autocommit=True)

    def create_database(self, name: str) -> str:
        """Create an empty database with PostGIS enabled and return its URL.

        Tests want a fresh database per module or per test so they cannot see
        each other's rows; creating one is cheap compared to a new cluster.
        """
        _check_name(name)
        with self.connect("postgres") as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            with self.connect(name) as conn:
                conn.execute("CREATE EXTENSION postgis")
        except psycopg.Error as exc:
            raise RuntimeError(
                f"CREATE EXTENSION postgis failed in the throwaway cluster ({exc}); "
                f"install the PostGIS package matching {self.bindir.parent.name}, "
                "e.g. postgresql-<major>-postgis-3 (scripts/test does this)"
            ) from exc
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting leftover sessions (e.g. unclosed pools)."""
        _check_name(name)
        with self.connect("postgres") as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    # -- internals -------------------------------------------------------------

    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _make_tmpdir(self) -> None:
        # As root the server runs as SYSTEM_USER, which must be able to reach
        # the directory: /tmp is world-traversable, $TMPDIR may not be.
        parent = "/tmp" if self._as_root else None
        self.tmpdir = Path(tempfile.mkdtemp(prefix="demine-pg-", dir=parent))
        if self._as_root:
            try:
                shutil.chown(self.tmpdir, user=SYSTEM_USER, group=None)
            except LookupError as exc:
                raise RuntimeError(
                    f"running as root but there is no '{SYSTEM_USER}' system user to run "
                    "PostgreSQL as (PostgreSQL refuses to run as root)"
                ) from exc

    def _command_prefix(self) -> list[str]:
        if not self._as_root:
            return []
        if shutil.which("runuser"):
            return ["runuser", "-u", SYSTEM_USER, "--"]
        if shutil.which("sudo"):
            return ["sudo", "-u", SYSTEM_USER, "--"]
        raise RuntimeError(
            f"running as root and neither runuser nor sudo is available to run "
            f"PostgreSQL as '{SYSTEM_USER}'"
        )

    def _run(self, args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        # cwd inside the temp dir: SYSTEM_USER may not be allowed into ours.
        proc = subprocess.run(
            [*self._command_prefix(), *args],
            cwd=self._tmp,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed with exit code {proc.returncode}:\n"
                f"{proc.stdout}{proc.stderr}{self._log_tail()}"
            )
        return proc

    def _initdb(self) -> None:
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-A",
                "trust",
                "-U",
                PG_USER,
                "--encoding=UTF8",
                "--locale=C",  # independent of whatever locales the machine has
                "--no-sync",
            ]
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self._tmp}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        # Appending keeps the file's owner (SYSTEM_USER) when running as root.
        with (self.datadir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# demine throwaway test cluster\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def _start_server(self) -> None:
        last_error = ""
        for _ in range(_START_ATTEMPTS):
            self.port = free_port()
            proc = self._run(
                [
                    str(self.bindir / "pg_ctl"),
                    "start",
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(self.logfile),
                    "-o",
                    f"-p {self.port}",
                    "-w",
                    "-t",
                    "60",
                ],
                check=False,
            )
            if proc.returncode == 0:
                return
            last_error = proc.stdout + proc.stderr + self._log_tail()
            # The port may have been taken in the meantime; make sure nothing
            # half-started remains and try again with another one.
            self._run(
                [str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", "immediate"],
                check=False,
            )
        raise RuntimeError(f"could not start the throwaway PostgreSQL server:\n{last_error}")

    def _log_tail(self, lines: int = 30) -> str:
        try:
            text = self.logfile.read_text(encoding="utf-8", errors="replace")
        except (OSError, RuntimeError):
            return ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"\n--- server log tail ---\n{tail}" if tail else ""


def _check_name(name: str) -> None:
    """Database names end up in URLs unquoted, so allow only plain identifiers."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"invalid database name {name!r}: use [a-z_][a-z0-9_]*, max 63 chars")
