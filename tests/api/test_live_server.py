"""`demine serve` as a real process: it starts, binds to loopback, and refuses to run
without a secret."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx


def test_serve_answers_on_loopback_with_a_self_contained_openapi(live_server) -> None:
    doc = httpx.get(f"{live_server.base_url}/openapi.json").json()
    assert doc["info"]["title"] == "demine"
    refs = [v for v in _values(doc, "$ref")]
    assert refs and all(r.startswith("#/") for r in refs)
    me = httpx.get(f"{live_server.base_url}/api/v1/auth/me", headers=live_server.auth_header)
    assert me.json()["role"] == "viewer"


def _values(node, key):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            else:
                yield from _values(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from _values(v, key)


def test_serve_without_a_secret_refuses_to_start(served_db) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DEMINE_SECRET", "DEMINE_SECRET_FILE")}
    done = subprocess.run([sys.executable, "-m", "demine.cli", "serve", "--db", served_db.url,
                           "--port", "9"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "secret: not configured" in done.stdout + done.stderr
