"""Who may do what over HTTP: every route under /api/v1 against every role.

The routes are enumerated from the app itself, so an endpoint added later is in the
matrix at once: a new GET is expected to need only the ``read`` permission, and any
other new method fails here until it is given a rule below. The rules are written out
by hand, not derived from ``ROLE_PERMISSIONS``, so that a change to what a role may do
has to change this table too.

An allowed request is a real one (a real report submitted, approved, a real settlement
edited) that must succeed; a refused one is the same request, which must be answered
401 (anonymous) or 403 (a role without the permission) and must leave the record as it
was.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import fastapi.routing
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from demine.api.app import create_app
from demine.api.config import ServerConfig
from demine.service.records import RECORD_SETS
from demine.store import Repository
from demine.store import schema as s

ANONYMOUS = "anonymous"
ROLES = (ANONYMOUS, "viewer", "op.fdu", "op.rcs", "im", "admin")
LOGGED_IN = frozenset(ROLES) - {ANONYMOUS}

#: Who holds each permission the routes ask for (user names of conftest's USERS).
ALLOWED: dict[str, frozenset[str]] = {
    "public": frozenset(ROLES),
    "authenticated": LOGGED_IN,
    "read": LOGGED_IN,
    "report": frozenset({"op.fdu", "op.rcs", "im", "admin"}),
    "decide": frozenset({"im", "admin"}),
    "edit_reference": frozenset({"im", "admin"}),
}

#: Every route that is not a plain read. A GET not listed here needs ``read``.
RULES: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/login"): "public",
    ("POST", "/api/v1/auth/logout"): "authenticated",
    ("POST", "/api/v1/auth/password"): "authenticated",
    ("GET", "/api/v1/auth/me"): "authenticated",
    ("POST", "/api/v1/reports"): "report",
    ("POST", "/api/v1/reports/{code}/submit"): "report",
    ("POST", "/api/v1/reports/{code}/approve"): "decide",
    ("POST", "/api/v1/reports/{code}/reject"): "decide",
    ("PATCH", "/api/v1/organisations/{code}"): "edit_reference",
    ("PATCH", "/api/v1/teams/{code}"): "edit_reference",
    ("PATCH", "/api/v1/settlements/{code}"): "edit_reference",
}

#: The organisation each operator reports for.
OWN_ORGANISATION = {"op.fdu": "FDU", "op.rcs": "RCS"}

#: What /auth/me must say each role may do.
PERMISSIONS = {
    "viewer": ["read"],
    "op.fdu": ["read", "report"],
    "op.rcs": ["read", "report"],
    "im": ["decide", "edit_reference", "read", "read_personal", "report"],
    "admin": ["decide", "edit_reference", "manage_users", "read", "read_personal", "report"],
}

EVIDENCE_HAZARD = "HA-000002"


class _NoStore:
    """Stands in for the store while the routes are listed at collection time."""


def api_routes() -> list[tuple[str, str]]:
    """(method, path) of every route of the app under /api/v1."""
    app = create_app(ServerConfig(db=None, secret="collection-only-" + "x" * 32), _NoStore())
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = list(iterate(app.routes)) if iterate else list(app.routes)
    found = {(method, route.path) for route in routes
             if (route.path or "").startswith("/api/v1/")
             for method in (route.methods or ()) if method != "HEAD"}
    return sorted(found, key=lambda mp: (mp[1], mp[0]))


ROUTES = api_routes()


def rule_of(method: str, path: str) -> str:
    if (method, path) in RULES:
        return RULES[(method, path)]
    if method == "GET":
        return "read"
    raise AssertionError(f"{method} {path} has no rule in test_matrix.RULES: say which "
                         "permission it needs (and how to call it in BUILDERS)")


# -- the requests -----------------------------------------------------------------------

@dataclass
class Call:
    """One request, how an allowed one must be answered, and what a refusal must leave."""

    method: str
    url: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    ok_status: int = 200
    #: send the role's token (False: the call brings its own credentials, or none)
    use_own_token: bool = True
    #: checks the record is unchanged after a refusal
    unchanged: Callable[[], None] | None = None
    #: checks the effect of an allowed request
    applied: Callable[[Any], None] | None = None


class Ctx:
    """What the builders need: the client, tokens, and records to act on."""

    def __init__(self, client: TestClient, headers: dict[str, dict[str, str]], kit) -> None:
        self.client = client
        self.headers = headers
        self.kit = kit
        self._keys: dict[str, str] = {}

    def auth(self, role: str) -> dict[str, str]:
        return {} if role == ANONYMOUS else self.headers[role]

    def admin_get(self, url: str, **params) -> Any:
        response = self.client.get(url, params=params, headers=self.headers["admin"])
        assert response.status_code == 200, response.text
        return response.json()

    def sample_key(self, resource: str) -> str:
        """The key of one record of ``resource`` every role can see."""
        if resource not in self._keys:
            params = {"limit": 1}
            if resource == "reports":
                params["status"] = "approved"
            items = self.admin_get(f"/api/v1/{resource}", **params)["items"]
            assert items, f"no {resource} in the demo district to try the routes on"
            item = items[0]
            self._keys[resource] = str(item["code"] if "code" in item else item["id"])
        return self._keys[resource]

    def report(self, organisation: str, *, submitted: bool) -> str:
        """A one-entry report of ``organisation`` (drafted by the admin), maybe submitted."""
        response = self.client.post("/api/v1/reports", headers=self.headers["admin"],
                                    json=report_body(organisation))
        assert response.status_code == 201, response.text
        code = response.json()["code"]
        if submitted:
            response = self.client.post(f"/api/v1/reports/{code}/submit",
                                        headers=self.headers["admin"])
            assert response.status_code == 200, response.text
        return code

    def report_status(self, code: str) -> str:
        return self.admin_get(f"/api/v1/reports/{code}")["status"]

    def record(self, resource: str, code: str) -> dict[str, Any]:
        return self.admin_get(f"/api/v1/{resource}/{code}")


def report_body(organisation: str, description: str = "matrix") -> dict[str, Any]:
    return {"organisation": organisation, "info_date": "2026-11-20",
            "summary": "authorisation matrix",
            "entries": [{"kind": "evidence", "payload": {
                "hazard_code": EVIDENCE_HAZARD,
                "items": [{"kind": "indirect", "type": "hearsay",
                           "description": description}]}}]}


def _organisation_for(role: str) -> str:
    return OWN_ORGANISATION.get(role, "FDU")


def _login(ctx: Ctx, role: str) -> Call:
    username = "viewer" if role == ANONYMOUS else role
    return Call("POST", "/api/v1/auth/login",
                json={"username": username, "password": ctx.kit.password},
                use_own_token=False,
                applied=lambda body: _assert(body["username"] == username, body))


def _logout(ctx: Ctx, role: str) -> Call:
    # a fresh token, so that logging out does not spend the module's shared one
    headers = {} if role == ANONYMOUS else ctx.kit.login(ctx.client, role)

    def applied(_body) -> None:
        again = ctx.client.get("/api/v1/auth/me", headers=headers)
        assert again.status_code == 401, "a token still works after logout"

    return Call("POST", "/api/v1/auth/logout", headers=headers, use_own_token=False,
                ok_status=204, applied=applied)


def _password(ctx: Ctx, role: str) -> Call:
    # the right current password and a new one too short to take: the request gets past
    # authentication into the rules, and nobody's password (or token) changes here;
    # test_password_change_ends_every_session changes one for real
    def applied(body) -> None:
        assert body["field"] == "password", body

    return Call("POST", "/api/v1/auth/password",
                json={"old_password": ctx.kit.password, "new_password": "short"},
                ok_status=422, applied=applied)


def _me(ctx: Ctx, role: str) -> Call:
    return Call("GET", "/api/v1/auth/me",
                applied=lambda body: _assert(body["permissions"] == PERMISSIONS[role], body))


def _create_report(ctx: Ctx, role: str) -> Call:
    organisation = _organisation_for(role)
    marker = f"matrix create by {role} {time.monotonic_ns()}"
    a = s.report_entries

    def unchanged() -> None:
        with ctx.client.app.state.repo.reader() as uow:
            texts = [str(p) for (p,) in uow.conn.execute(select(a.c.payload)).all()]
        assert texts and not any(marker in t for t in texts), "a refused report was stored"

    return Call("POST", "/api/v1/reports", json=report_body(organisation, marker),
                ok_status=201, unchanged=unchanged,
                applied=lambda body: _assert(body["status"] == "draft", body))


def _submit(ctx: Ctx, role: str) -> Call:
    code = ctx.report(_organisation_for(role), submitted=False)
    return Call("POST", f"/api/v1/reports/{code}/submit",
                unchanged=lambda: _assert(ctx.report_status(code) == "draft", code),
                applied=lambda body: _assert(body["status"] == "submitted", body))


def _decide(action: str, outcome: str, json: Any = None) -> Callable[[Ctx, str], Call]:
    def build(ctx: Ctx, role: str) -> Call:
        code = ctx.report("RCS" if role == "op.rcs" else "FDU", submitted=True)
        return Call("POST", f"/api/v1/reports/{code}/{action}", json=json,
                    unchanged=lambda: _assert(ctx.report_status(code) == "submitted", code),
                    applied=lambda body: _assert(body["status"] == outcome, body))
    return build


def _patch(resource: str, change: Callable[[dict[str, Any]], dict[str, Any]]
           ) -> Callable[[Ctx, str], Call]:
    def build(ctx: Ctx, role: str) -> Call:
        code = ctx.sample_key(resource)
        before = ctx.record(resource, code)

        def unchanged() -> None:
            assert ctx.record(resource, code)["version"] == before["version"]

        def applied(body) -> None:
            assert body["version"] == before["version"] + 1, body
            after = ctx.record(resource, code)
            for key, value in change(before).items():
                assert after[key] == value, (key, after[key], value)

        return Call("PATCH", f"/api/v1/{resource}/{code}", json=change(before),
                    headers={"If-Match": f'"{before["version"]}"'},
                    unchanged=unchanged, applied=applied)
    return build


def _read(method: str, path: str) -> Callable[[Ctx, str], Call]:
    def build(ctx: Ctx, role: str) -> Call:
        resource = path.removeprefix("/api/v1/").split("/")[0]
        url = re.sub(r"\{[^}]+\}", lambda _m: ctx.sample_key(resource), path)
        return Call(method, url)
    return build


BUILDERS: dict[tuple[str, str], Callable[[Ctx, str], Call]] = {
    ("POST", "/api/v1/auth/login"): _login,
    ("POST", "/api/v1/auth/logout"): _logout,
    ("POST", "/api/v1/auth/password"): _password,
    ("GET", "/api/v1/auth/me"): _me,
    ("POST", "/api/v1/reports"): _create_report,
    ("POST", "/api/v1/reports/{code}/submit"): _submit,
    ("POST", "/api/v1/reports/{code}/approve"): _decide("approve", "approved"),
    ("POST", "/api/v1/reports/{code}/reject"): _decide("reject", "rejected", {"reason": "matrix"}),
    ("PATCH", "/api/v1/organisations/{code}"):
        _patch("organisations", lambda r: {"name": r["name"] + " (renamed)"}),
    ("PATCH", "/api/v1/teams/{code}"):
        _patch("teams", lambda r: {"headcount": r["headcount"] + 1}),
    ("PATCH", "/api/v1/settlements/{code}"):
        _patch("settlements", lambda r: {"population": r["population"] + 1}),
}


def _assert(condition: bool, detail: Any) -> None:
    assert condition, detail


@pytest.fixture(scope="module")
def ctx(client: TestClient, headers: dict[str, dict[str, str]], kit) -> Ctx:
    assert set(kit.users) == LOGGED_IN, "conftest's USERS and this matrix's ROLES differ"
    return Ctx(client, headers, kit)


@pytest.fixture(scope="module")
def revoked(ctx: Ctx) -> dict[str, str]:
    """The headers of an admin's token that has been logged out."""
    headers = ctx.kit.login(ctx.client, "admin")
    assert ctx.client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    return headers


# -- the matrix -------------------------------------------------------------------------

def test_the_matrix_covers_every_route() -> None:
    # each kind of record has its list, one record and its history, besides the rules
    assert len(ROUTES) >= len(RULES) + 3 * len(RECORD_SETS)
    for method, path in ROUTES:
        rule = rule_of(method, path)
        assert rule in ALLOWED
        assert method == "GET" or (method, path) in BUILDERS, f"{method} {path}: no builder"
    assert set(RULES) <= set(ROUTES), f"rules for routes that are gone: {set(RULES) - set(ROUTES)}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_route_allows_or_refuses_role(ctx: Ctx, method: str, path: str, role: str) -> None:
    rule = rule_of(method, path)
    call = BUILDERS.get((method, path), _read(method, path))(ctx, role)
    headers = {**(ctx.auth(role) if call.use_own_token else {}), **call.headers}
    response = ctx.client.request(call.method, call.url, json=call.json, headers=headers)
    if role in ALLOWED[rule]:
        assert response.status_code == call.ok_status, \
            f"{role} {method} {call.url}: {response.status_code} {response.text}"
        if call.applied is not None:
            call.applied(response.json() if response.content else None)
        return
    expected = 401 if role == ANONYMOUS else 403
    assert response.status_code == expected, \
        f"{role} {method} {call.url}: {response.status_code} {response.text}"
    body = response.json()
    assert body["detail"]
    if expected == 401:
        assert response.headers.get("www-authenticate") == "Bearer"
    else:
        assert role in body["detail"] and rule in body["detail"], body
    if call.unchanged is not None:
        call.unchanged()


GUARDED = [mp for mp in ROUTES if RULES.get(mp) != "public"]


@pytest.mark.parametrize(("method", "path"), GUARDED, ids=[f"{m} {p}" for m, p in GUARDED])
def test_a_forged_or_revoked_token_is_refused(ctx: Ctx, revoked: dict[str, str], method: str,
                                             path: str) -> None:
    call = BUILDERS.get((method, path), _read(method, path))(ctx, "admin")
    for headers in ({"Authorization": "Bearer not-a-token"}, revoked,
                    {"Authorization": "Basic YWRtaW46eA=="}):
        response = ctx.client.request(call.method, call.url, json=call.json,
                                      headers={**call.headers, **headers})
        assert response.status_code == 401, (headers, response.text)
    if call.unchanged is not None:
        call.unchanged()


# -- reports across organisations ---------------------------------------------------------

def test_an_operator_cannot_report_for_another_organisation(ctx: Ctx) -> None:
    response = ctx.client.post("/api/v1/reports", headers=ctx.headers["op.fdu"],
                               json=report_body("RCS"))
    assert response.status_code == 403, response.text
    assert "RCS" in response.json()["detail"] and "FDU" in response.json()["detail"]
    # managers report for any organisation
    for role in ("im", "admin"):
        response = ctx.client.post("/api/v1/reports", headers=ctx.headers[role],
                                   json=report_body("RCS"))
        assert response.status_code == 201, response.text


def test_an_operator_cannot_submit_another_organisations_report(ctx: Ctx) -> None:
    code = ctx.report("RCS", submitted=False)
    response = ctx.client.post(f"/api/v1/reports/{code}/submit", headers=ctx.headers["op.fdu"])
    assert response.status_code == 403, response.text
    assert ctx.report_status(code) == "draft"
    response = ctx.client.post(f"/api/v1/reports/{code}/submit", headers=ctx.headers["op.rcs"])
    assert response.status_code == 200, response.text


def test_drafts_are_seen_by_their_organisation_and_managers_only(ctx: Ctx) -> None:
    code = ctx.report("FDU", submitted=False)
    for role, status in (("op.fdu", 200), ("im", 200), ("admin", 200), ("op.rcs", 404),
                         ("viewer", 404)):
        response = ctx.client.get(f"/api/v1/reports/{code}", headers=ctx.headers[role])
        assert response.status_code == status, (role, response.text)
        listed = ctx.client.get("/api/v1/reports", params={"status": "draft", "limit": 1000},
                                headers=ctx.headers[role]).json()["items"]
        assert (code in {r["code"] for r in listed}) == (status == 200), role


@pytest.mark.parametrize("role", ["viewer", "op.fdu"])
def test_only_managers_approve(ctx: Ctx, served_db, role: str) -> None:
    code = ctx.report("FDU", submitted=True)
    for action, body in (("approve", None), ("reject", {"reason": "no"})):
        response = ctx.client.post(f"/api/v1/reports/{code}/{action}", json=body,
                                   headers=ctx.headers[role])
        assert response.status_code == 403, response.text
        assert "decide" in response.json()["detail"]
    assert ctx.report_status(code) == "submitted"
    repo = Repository.open(served_db.url, create=False)
    try:
        with repo.reader() as uow:
            report_id = uow.require(s.reports, code)["id"]
            touched = uow.conn.execute(select(s.audit_log.c.action).where(
                s.audit_log.c.report_id == report_id)).scalars().all()
    finally:
        repo.close()
    assert "approve" not in touched and "reject" not in touched


def test_the_audit_log_records_who_approved(ctx: Ctx, served_db) -> None:
    code = ctx.report("FDU", submitted=True)
    response = ctx.client.post(f"/api/v1/reports/{code}/approve", headers=ctx.headers["im"])
    assert response.status_code == 200, response.text
    a = s.audit_log
    repo = Repository.open(served_db.url, create=False)
    try:
        with repo.reader() as uow:
            report = uow.require(s.reports, code)
            decision = uow.conn.execute(select(a.c.author, a.c.version, a.c.after).where(
                a.c.entity == "report", a.c.entity_code == code,
                a.c.action == "approve")).all()
            effects = uow.conn.execute(select(a.c.entity, a.c.author).where(
                a.c.report_id == report["id"], a.c.action != "approve")).all()
    finally:
        repo.close()
    assert report["status"] == "approved" and report["decided_by"] == "im"
    assert len(decision) == 1
    author, version, after = decision[0]
    assert author == "im" and version == report["version"]
    assert after["decided_by"] == "im" and after["status"] == "approved"
    # everything the approval wrote is on the approver's name too
    evidence = [e for e in effects if e.entity == "evidence_item"]
    assert evidence and all(e.author == "im" for e in effects if e.entity != "report")
    # and the trail says so over HTTP
    history = ctx.client.get(f"/api/v1/reports/{code}/history",
                             headers=ctx.headers["viewer"]).json()["items"]
    assert [h["author"] for h in history if h["action"] == "approve"] == ["im"]


# -- personal data ------------------------------------------------------------------------

VICTIM_PERSONAL = ("activity_at_time", "age", "sex")


@pytest.mark.parametrize("role", ["viewer", "op.fdu", "op.rcs"])
def test_personal_data_is_redacted_without_read_personal(ctx: Ctx, role: str) -> None:
    accidents = ctx.client.get("/api/v1/accidents", headers=ctx.headers[role]).json()["items"]
    assert accidents and any(a["victims"] for a in accidents)
    for accident in accidents:
        assert accident["narrative"] is None and "narrative" in accident["redacted"]
        for victim in accident["victims"]:
            for key in VICTIM_PERSONAL:
                assert victim[key] is None, (key, victim)
            assert victim["redacted"] == list(VICTIM_PERSONAL)
            assert victim["outcome"] and victim["role"]  # not personal: still shown
        one = ctx.client.get(f"/api/v1/accidents/{accident['code']}",
                             headers=ctx.headers[role]).json()
        assert one["narrative"] is None and all(
            v[k] is None for v in one["victims"] for k in VICTIM_PERSONAL)
        history = ctx.client.get(f"/api/v1/accidents/{accident['code']}/history",
                                 headers=ctx.headers[role]).json()["items"]
        for entry in history:
            if "narrative" in entry["changed"]:
                assert entry["changed"]["narrative"] == {"before": None, "after": None,
                                                         "redacted": True}
    # nor can the order of the hidden values be had
    for sort in ("narrative", "-narrative"):
        response = ctx.client.get("/api/v1/accidents", params={"sort": sort},
                                  headers=ctx.headers[role])
        assert response.status_code == 403, response.text
        assert "read_personal" in response.json()["detail"]


@pytest.mark.parametrize("role", ["im", "admin"])
def test_managers_see_personal_data(ctx: Ctx, role: str) -> None:
    accidents = ctx.client.get("/api/v1/accidents", headers=ctx.headers[role]).json()["items"]
    assert accidents
    assert any(a["narrative"] for a in accidents)
    victims = [v for a in accidents for v in a["victims"]]
    assert victims
    for accident in accidents:
        assert "redacted" not in accident
    for victim in victims:
        assert "redacted" not in victim
        assert victim["sex"] is not None
    assert any(v["age"] is not None for v in victims)
    assert any(v["activity_at_time"] for v in victims)
    assert ctx.client.get("/api/v1/accidents", params={"sort": "-narrative"},
                          headers=ctx.headers[role]).status_code == 200
    code = accidents[0]["code"]
    history = ctx.client.get(f"/api/v1/accidents/{code}/history",
                             headers=ctx.headers[role]).json()["items"]
    assert history[0]["changed"]["narrative"]["after"] == accidents[0]["narrative"]


# -- reference data -----------------------------------------------------------------------

@pytest.mark.parametrize("resource", ["settlements", "teams", "organisations"])
def test_editing_reference_data_needs_edit_reference(ctx: Ctx, resource: str) -> None:
    code = ctx.sample_key(resource)
    version = ctx.record(resource, code)["version"]
    body = {"version": version}
    for role in ("viewer", "op.fdu", "op.rcs"):
        response = ctx.client.patch(f"/api/v1/{resource}/{code}", json=body,
                                    headers=ctx.headers[role])
        assert response.status_code == 403, response.text
        assert "edit_reference" in response.json()["detail"]
    for role in ("im", "admin"):
        response = ctx.client.patch(f"/api/v1/{resource}/{code}", json=body,
                                    headers=ctx.headers[role])
        assert response.status_code == 200, response.text
    assert ctx.record(resource, code)["version"] == version  # nothing changed: no new version


# -- accounts -----------------------------------------------------------------------------

def test_repeated_failed_logins_are_answered_429_with_retry_after(ctx: Ctx) -> None:
    client, password = ctx.client, ctx.kit.password
    name = "ghost.user"  # not an account: guessing names is slowed the same way
    for _ in range(5):
        response = client.post("/api/v1/auth/login", json={"username": name, "password": "x"})
        assert response.status_code == 401, response.text
    response = client.post("/api/v1/auth/login", json={"username": name, "password": "x"})
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 300
    assert "try again" in response.json()["detail"]
    # another user from the same client is not held back
    assert client.post("/api/v1/auth/login",
                       json={"username": "viewer", "password": password}).status_code == 200


def test_the_login_brake_holds_a_right_password_and_lets_go_after_the_window(
        ctx: Ctx, served_db) -> None:
    repo = Repository.open(served_db.url, create=False)
    app = create_app(ServerConfig(db=served_db.url, secret=ctx.kit.secret,
                                  login_failures_allowed=3, login_window_s=2.0), repo)
    try:
        with TestClient(app) as client:
            wrong = {"username": "viewer", "password": "not the password"}
            right = {"username": "viewer", "password": ctx.kit.password}
            for _ in range(3):
                assert client.post("/api/v1/auth/login", json=wrong).status_code == 401
            refused = client.post("/api/v1/auth/login", json=right)
            assert refused.status_code == 429, refused.text
            wait = int(refused.headers["retry-after"])
            assert 1 <= wait <= 3
            time.sleep(wait + 0.2)
            assert client.post("/api/v1/auth/login", json=right).status_code == 200
    finally:
        repo.close()


def test_password_change_ends_every_session(ctx: Ctx, served_db) -> None:
    from demine.service import accounts

    repo = Repository.open(served_db.url, create=False)
    try:
        accounts.add_user(repo, author="test-setup", username="pw.tester",
                          password=ctx.kit.password, role="viewer")
    finally:
        repo.close()
    client = ctx.client
    first = ctx.kit.login(client, "pw.tester")
    second = ctx.kit.login(client, "pw.tester")
    new_password = "another long password"
    response = client.post("/api/v1/auth/password", headers=first,
                           json={"old_password": "wrong password", "new_password": new_password})
    assert response.status_code == 401
    response = client.post("/api/v1/auth/password", headers=first,
                           json={"old_password": ctx.kit.password,
                                 "new_password": new_password})
    assert response.status_code == 204, response.text
    for token in (first, second):
        assert client.get("/api/v1/auth/me", headers=token).status_code == 401
    assert client.post("/api/v1/auth/login", json={
        "username": "pw.tester", "password": ctx.kit.password}).status_code == 401
    assert ctx.kit.login(client, "pw.tester", new_password)
