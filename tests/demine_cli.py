"""The `demine` command as a user runs it: a real process on a real database."""

from __future__ import annotations

import os
import subprocess
import sys


def run(*args: str, db: str, ok: bool = True, user: str | None = None
        ) -> subprocess.CompletedProcess:
    """``python -m demine.cli ARGS`` on ``db``; with ``ok`` it must exit 0."""
    env = {**os.environ, "COLUMNS": "200", "DEMINE_DB": db}
    if user:
        env["DEMINE_USER"] = user
    proc = subprocess.run([sys.executable, "-m", "demine.cli", *args], env=env,
                          capture_output=True, text=True, timeout=600)
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc
