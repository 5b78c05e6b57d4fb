"""The server's fixtures, shared by tests/api and tests/web (their conftests import
them): the demo district with one account per role, on both stores.

``served_db`` loads the demo district once per test module and backend; ``client`` is
an in-process HTTP client (FastAPI's TestClient: the real app, routing, validation and
store, no network); ``live_server`` runs ``demine serve`` as its own process on a free
loopback port for the clients that need a real socket (GDAL, owslib, ogctests).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from demine.api.app import create_app
from demine.api.config import ServerConfig
from demine.scenario.district import load_demo
from demine.service import accounts
from demine.store import Repository

SECRET = "test-secret-" + "x" * 40  # a test value, not a deployment secret
PASSWORD = "a long test password"

#: username -> (role, organisation)
USERS = {
    "admin": ("admin", None),
    "im": ("information_manager", None),
    "op.fdu": ("operator_editor", "FDU"),
    "op.rcs": ("operator_editor", "RCS"),
    "viewer": ("viewer", None),
}


@dataclass
class ServedDb:
    url: str
    backend: str


def _load(url: str) -> None:
    repo = Repository.open(url)
    try:
        load_demo(repo, seed=7)
        for name, (role, org) in USERS.items():
            accounts.add_user(repo, author="test-setup", username=name, password=PASSWORD,
                              role=role, organisation_code=org)
    finally:
        repo.close()


@pytest.fixture(scope="module", params=[
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgis", id="postgis", marks=pytest.mark.postgis)])
def served_db(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedDb]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('served')}/demine.sqlite"
        _load(url)
        yield ServedDb(url, "sqlite")
        return
    server = request.getfixturevalue("postgis_server")
    name = f"api_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    _load(url)
    yield ServedDb(url, "postgis")
    server.drop_database(name)


@pytest.fixture(scope="module")
def client(served_db: ServedDb) -> Iterator[TestClient]:
    repo = Repository.open(served_db.url, create=False)
    app = create_app(ServerConfig(db=served_db.url, secret=SECRET), repo)
    with TestClient(app) as test_client:
        yield test_client
    repo.close()


def login(client: TestClient | httpx.Client, username: str,
          password: str = PASSWORD) -> dict[str, str]:
    """Authorization headers for ``username``."""
    response = client.post("/api/v1/auth/login",
                           json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def headers(client: TestClient) -> dict[str, dict[str, str]]:
    """Authorization headers per user name, logged in once per module."""
    return {name: login(client, name) for name in USERS}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    base_url: str
    token: str
    db: ServedDb

    @property
    def auth_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def live_server(served_db: ServedDb, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[LiveServer]:
    """``demine serve`` in its own process, logged in as the viewer."""
    server = ServerProcess(served_db, tmp_path_factory.mktemp("serverlog") / "server.log")
    server.start()
    try:
        with httpx.Client(base_url=server.base_url) as http:
            token = login(http, "viewer")["Authorization"].split(" ", 1)[1]
        yield LiveServer(server.base_url, token, served_db)
    finally:
        server.stop()


# -- for the fault and access tests: test modules cannot import a conftest, so what they
# share with it comes as fixtures -------------------------------------------------------

@dataclass
class ApiTestKit:
    """The constants and helpers of this conftest, handed to test modules."""

    secret: str
    password: str
    users: dict[str, tuple[str, str | None]]
    login: object


@pytest.fixture(scope="session")
def kit() -> ApiTestKit:
    return ApiTestKit(secret=SECRET, password=PASSWORD, users=dict(USERS), login=login)


@dataclass
class ServerProcess:
    """One ``demine serve`` process that a test may kill and start again."""

    db: ServedDb
    log: Path
    proc: subprocess.Popen | None = None
    base_url: str = ""

    def start(self, timeout_s: float = 60) -> None:
        port = _free_port()
        secret_file = self.log.parent / "secret"
        secret_file.write_text(SECRET)
        env = {**os.environ, "DEMINE_SECRET_FILE": str(secret_file)}
        env.pop("DEMINE_SECRET", None)
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "demine.cli", "serve", "--db", self.db.url,
                 "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
        self.base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"demine serve exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"demine serve did not start: {self.log.read_text()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def server_process(served_db: ServedDb, tmp_path: Path) -> Iterator[ServerProcess]:
    """A ``demine serve`` over the module's database, not yet started; stopped at the end."""
    server = ServerProcess(served_db, tmp_path / "server.log")
    try:
        yield server
    finally:
        server.stop()
