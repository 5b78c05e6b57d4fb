"""Accounts: argon2 hashes, tokens stored only as keyed hashes, sessions that end when
they should (logout, password change, disabled account, expiry), audit without hashes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from demine_world import OPERATOR
from sqlalchemy import select

from demine.domain.access import Permission, Role
from demine.domain.errors import NotFound, ValidationError
from demine.service import accounts
from demine.store import schema as s
from demine.store.repository import utcnow

SECRET = "s" * 40
PASSWORD = "a long test password"


@pytest.fixture
def ana(repo, world) -> str:
    accounts.add_user(repo, author="admin", username="Ana", password=PASSWORD,
                      role="operator_editor", organisation_code=OPERATOR)
    return "ana"


def test_login_gives_a_token_that_names_the_user_and_their_organisation(repo, ana) -> None:
    token = accounts.login(repo, secret=SECRET, username="ANA", password=PASSWORD)
    who = accounts.principal_for_token(repo, secret=SECRET, token=token)
    assert (who.username, who.role, who.organisation_code) == (ana, Role.OPERATOR_EDITOR,
                                                               OPERATOR)
    assert who.can(Permission.REPORT) and not who.can(Permission.DECIDE)
    assert accounts.principal_for_token(repo, secret="t" * 40, token=token) is None
    with repo.reader() as uow:
        stored = uow.conn.execute(select(s.api_tokens.c.token_hash)).scalars().all()
        hashed = uow.conn.execute(select(s.users.c.password_hash)).scalar_one()
    assert token not in stored and len(stored) == 1
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed


def test_wrong_password_unknown_user_and_disabled_account_fail_alike(repo, ana) -> None:
    for name, password in ((ana, "wrong password!"), ("nobody", PASSWORD)):
        with pytest.raises(accounts.LoginFailed, match="wrong user name or password"):
            accounts.login(repo, secret=SECRET, username=name, password=password)
    token = accounts.login(repo, secret=SECRET, username=ana, password=PASSWORD)
    accounts.set_disabled(repo, author="admin", username=ana)
    assert accounts.principal_for_token(repo, secret=SECRET, token=token) is None
    with pytest.raises(accounts.LoginFailed):
        accounts.login(repo, secret=SECRET, username=ana, password=PASSWORD)
    accounts.set_disabled(repo, author="admin", username=ana, disabled=False)
    assert accounts.login(repo, secret=SECRET, username=ana, password=PASSWORD)


def test_logout_password_change_and_expiry_end_sessions(repo, ana) -> None:
    first = accounts.login(repo, secret=SECRET, username=ana, password=PASSWORD)
    second = accounts.login(repo, secret=SECRET, username=ana, password=PASSWORD)
    accounts.logout(repo, secret=SECRET, token=first, username=ana)
    assert accounts.principal_for_token(repo, secret=SECRET, token=first) is None
    assert accounts.principal_for_token(repo, secret=SECRET, token=second) is not None
    later = utcnow() + accounts.TOKEN_LIFETIME + timedelta(seconds=1)
    assert accounts.principal_for_token(repo, secret=SECRET, token=second, now=later) is None
    with pytest.raises(accounts.LoginFailed):
        accounts.change_password(repo, username=ana, old_password="nope nope nope",
                                 new_password="another long one")
    with pytest.raises(ValidationError, match="password"):
        accounts.change_password(repo, username=ana, old_password=PASSWORD, new_password="short")
    accounts.change_password(repo, username=ana, old_password=PASSWORD,
                             new_password="another long one")
    assert accounts.principal_for_token(repo, secret=SECRET, token=second) is None
    assert accounts.login(repo, secret=SECRET, username=ana, password="another long one")


def test_account_changes_are_audited_without_the_hash(repo, ana) -> None:
    accounts.set_disabled(repo, author="admin", username=ana)
    with repo.reader() as uow:
        rows = uow.conn.execute(select(s.audit_log.c.action, s.audit_log.c.author,
                                       s.audit_log.c.before, s.audit_log.c.after)
                                .where(s.audit_log.c.entity == "user")
                                .order_by(s.audit_log.c.id)).all()
    assert [(r.action, r.author) for r in rows] == [("create", "admin"), ("disable", "admin")]
    assert all("password_hash" not in (r.after or {}) for r in rows)


def test_bad_accounts_are_refused_by_field(repo, world, ana) -> None:
    cases = [
        (dict(username="x", role="viewer"), "username"),
        (dict(username="bob", role="superuser"), "role"),
        (dict(username="bob", role="operator_editor"), "organisation"),
        (dict(username="ana", role="viewer"), "username"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationError) as caught:
            accounts.add_user(repo, author="admin", password=PASSWORD, **kwargs)
        assert caught.value.field == field
    with pytest.raises(ValidationError, match="at least 10"):
        accounts.add_user(repo, author="admin", username="bob", password="short", role="viewer")
    with pytest.raises(NotFound):
        accounts.add_user(repo, author="admin", username="bob", password=PASSWORD,
                          role="operator_editor", organisation_code="NOPE")


def test_users_cli_adds_lists_and_disables(repo, world) -> None:
    env = {**os.environ, "DEMINE_DB": repo.url, "COLUMNS": "200",
           "DEMINE_NEW_PASSWORD": PASSWORD, "DEMINE_USER": "admin"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "demine.cli", "users", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    added = cli("add", "carl", "--role", "operator_editor", "--organisation", OPERATOR)
    assert added.returncode == 0, added.stdout + added.stderr
    assert cli("add", "dora", "--role", "operator_editor").returncode == 1
    assert "carl" in cli("list").stdout and "dora" not in cli("list").stdout
    assert cli("disable", "carl").returncode == 0
    assert "disabled" in cli("list").stdout
    assert accounts.list_users(repo)[0].disabled is True
