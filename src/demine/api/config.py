"""Server configuration: where the record is and the secret that keys login tokens.

The secret never has a default. A server started without one refuses to start, so a
forgotten setting cannot quietly become a guessable key shared by every installation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from demine.domain.errors import DemineError

MIN_SECRET_LENGTH = 32
SECRET_ENV = "DEMINE_SECRET"
SECRET_FILE_ENV = "DEMINE_SECRET_FILE"


@dataclass(frozen=True)
class ServerConfig:
    db: str | None
    secret: str
    #: request bodies above this are refused with 413 before they are read whole
    max_body_bytes: int = 5 * 1024 * 1024
    #: failed logins allowed per user name and client address within the window
    login_failures_allowed: int = 5
    login_window_s: float = 300.0


def load_secret(secret_file: str | None = None) -> str:
    """The secret from ``--secret-file``, ``DEMINE_SECRET_FILE`` or ``DEMINE_SECRET``."""
    path = secret_file or os.environ.get(SECRET_FILE_ENV)
    if path:
        try:
            secret = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise DemineError(f"server secret file {path}: cannot be read: {exc}") from exc
        where = f"secret file {path}"
    else:
        secret = os.environ.get(SECRET_ENV, "").strip()
        where = f"${SECRET_ENV}"
    if not secret:
        raise DemineError(
            f"server: secret: not configured; set {SECRET_ENV} or {SECRET_FILE_ENV} (or "
            "--secret-file) to a random value of at least "
            f"{MIN_SECRET_LENGTH} characters, e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'`")
    if len(secret) < MIN_SECRET_LENGTH:
        raise DemineError(f"server: secret from {where}: is {len(secret)} characters; "
                          f"use at least {MIN_SECRET_LENGTH}")
    return secret
