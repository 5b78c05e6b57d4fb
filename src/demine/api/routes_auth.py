"""Login, logout, password change and "who am I"."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from demine.api.models import LoginIn, PasswordIn, PrincipalOut, TokenOut
from demine.api.security import Caller
from demine.service import accounts

router = APIRouter(prefix="/api/v1/auth", tags=["accounts"])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/login", response_model=TokenOut)
def login(body: LoginIn, request: Request) -> TokenOut:
    """A bearer token for ``Authorization: Bearer ...``; repeated failures are slowed."""
    state = request.app.state
    client = _client(request)
    wait = state.throttle.retry_after(client, body.username)
    if wait:
        raise HTTPException(429, f"too many failed logins for {body.username!r}; "
                                 f"try again in {wait} s", headers={"Retry-After": str(wait)})
    try:
        token = accounts.login(state.repo, secret=state.config.secret,
                               username=body.username, password=body.password)
    except accounts.LoginFailed:
        state.throttle.failed(client, body.username)
        raise
    state.throttle.succeeded(client, body.username)
    who = accounts.principal_for_token(state.repo, secret=state.config.secret, token=token)
    assert who is not None
    return TokenOut(access_token=token, expires_in=int(accounts.TOKEN_LIFETIME.total_seconds()),
                    username=who.username, role=who.role.value,
                    organisation=who.organisation_code)


@router.post("/logout", status_code=204, response_class=Response)
def logout(who: Caller, request: Request) -> Response:
    token = request.headers["authorization"].split(" ", 1)[1].strip()
    accounts.logout(request.app.state.repo, secret=request.app.state.config.secret,
                    token=token, username=who.username)
    return Response(status_code=204)


@router.post("/password", status_code=204, response_class=Response)
def change_password(body: PasswordIn, who: Caller, request: Request) -> Response:
    """Change one's own password; every session of the user ends, this one too."""
    accounts.change_password(request.app.state.repo, username=who.username,
                             old_password=body.old_password, new_password=body.new_password)
    return Response(status_code=204)


@router.get("/me", response_model=PrincipalOut)
def me(who: Caller) -> PrincipalOut:
    return PrincipalOut(username=who.username, role=who.role.value,
                        organisation=who.organisation_code,
                        permissions=sorted(p.value for p in who.permissions))
