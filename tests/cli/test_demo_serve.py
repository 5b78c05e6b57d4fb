"""``demine demo --serve``: one command from nothing to a page a person can log in to."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(db: str, port: int, log) -> subprocess.Popen:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("DEMINE_SECRET", None)
    env.pop("DEMINE_SECRET_FILE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "demine.cli", "demo", "--serve", "--db", db, "--port",
         str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, text=True)


def _wait(url: str, proc: subprocess.Popen, log_path) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, log_path.read_text()
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"demo server did not answer: {log_path.read_text()[-2000:]}")


def _passwords(text: str) -> dict[str, str]:
    """User -> password from the printed table: its first and last cells."""
    found = {}
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│|]", line) if c.strip()]
        if len(cells) == 3 and cells[0].startswith("demo."):
            found[cells[0]] = cells[2]
    return found


def test_demo_serve_loads_serves_and_prints_accounts_that_log_in(tmp_path) -> None:
    db = f"sqlite:///{tmp_path}/demo.sqlite"
    runs = []
    for run in range(2):  # a second run gives fresh passwords; the old ones stop working
        port = _free_port()
        log_path = tmp_path / f"serve-{run}.log"
        with log_path.open("w") as log:
            proc = _start(db, port, log)
            try:
                base = f"http://127.0.0.1:{port}"
                _wait(f"{base}/", proc, log_path)
                text = log_path.read_text()
                assert f"Open http://127.0.0.1:{port}/" in text
                assert "SYNTHETIC DATA" in text
                passwords = _passwords(text)
                assert set(passwords) == {"demo.im", "demo.operator", "demo.viewer"}, text
                login = httpx.post(f"{base}/api/v1/auth/login", json={
                    "username": "demo.im", "password": passwords["demo.im"]}, timeout=30)
                assert login.status_code == 200, login.text
                token = login.json()["access_token"]
                me = httpx.get(f"{base}/api/v1/auth/me", timeout=30,
                               headers={"Authorization": f"Bearer {token}"}).json()
                assert me["role"] == "information_manager"
                if runs:
                    stale = httpx.post(f"{base}/api/v1/auth/login", json={
                        "username": "demo.im", "password": runs[0]["demo.im"]}, timeout=30)
                    assert stale.status_code == 401
                runs.append(passwords)
            finally:
                proc.terminate()
                proc.wait(timeout=60)
    assert runs[0]["demo.im"] != runs[1]["demo.im"]
