"""Who is asking: bearer tokens to principals, and the brake on guessing passwords."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from demine.domain.access import Principal
from demine.service import accounts

log = logging.getLogger("demine.auth")

_bearer = HTTPBearer(auto_error=False, description="token from POST /api/v1/auth/login")


def current_principal(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The user behind the request's bearer token; 401 without a live one."""
    if credentials is None or not credentials.credentials:
        raise HTTPException(401, "log in first: this needs an Authorization: Bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    state = request.app.state
    who = accounts.principal_for_token(state.repo, secret=state.config.secret,
                                       token=credentials.credentials)
    if who is None:
        raise HTTPException(401, "the login token is unknown, expired or revoked; log in again",
                            headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = who
    return who


Caller = Annotated[Principal, Depends(current_principal)]


class LoginThrottle:
    """Failed logins per (client address, user name) in a sliding window.

    In memory and per process: enough to make guessing slow on one server; a centre
    running several workers gets one window per worker, which still bounds guessing.
    """

    def __init__(self, allowed: int, window_s: float) -> None:
        self.allowed = allowed
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def retry_after(self, client: str, username: str) -> int:
        """Seconds to wait before another attempt is heard, 0 when one may try now."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent((client, username.lower()), now)
            if len(failures) < self.allowed:
                return 0
            return max(1, int(failures[0] + self.window_s - now) + 1)

    def failed(self, client: str, username: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent((client, username.lower()), now).append(now)
        log.warning("failed login for user %r from %s", username, client)

    def succeeded(self, client: str, username: str) -> None:
        with self._lock:
            self._failures.pop((client, username.lower()), None)
