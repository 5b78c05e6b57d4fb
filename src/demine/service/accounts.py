"""Accounts: users, their passwords and their login tokens.

Passwords are hashed with argon2id (argon2-cffi), and re-hashed at login when the
library's recommended parameters have grown. A login hands out a random bearer token;
the store keeps only an HMAC of it under the server's secret, so neither a copy of the
database nor a copy of the secret alone lets anyone in. Logout revokes the token.
Every change to an account is audited like any other record, without the hash.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update

from demine.domain.access import Principal, Role
from demine.domain.errors import DemineError, NotFound, ValidationError
from demine.domain.vocab import parse_enum
from demine.store import schema as s
from demine.store.repository import Repository, utcnow

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
TOKEN_LIFETIME = timedelta(hours=12)
_USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-@")


class LoginFailed(DemineError):
    """Wrong user name or password, or a disabled account: the caller is not told which."""


@dataclass(frozen=True)
class UserLine:
    username: str
    role: str
    organisation_code: str | None
    disabled: bool
    version: int


def _check_username(username: str) -> str:
    name = (username or "").strip().lower()
    if not 2 <= len(name) <= 64 or not set(name) <= _USERNAME_CHARS:
        raise ValidationError(f"user {username!r}", "username",
                              "2 to 64 characters: letters, digits, '.', '_', '-' or '@'")
    return name


def _check_password(username: str, password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"user {username}", "password",
                              f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip().lower() == username:
        raise ValidationError(f"user {username}", "password", "must not be the user name")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def add_user(repo: Repository, *, author: str, username: str, password: str, role: str,
             organisation_code: str | None = None) -> None:
    name = _check_username(username)
    parsed = parse_enum(Role, role, record=f"user {name}", field="role")
    _check_password(name, password)
    if parsed is Role.OPERATOR_EDITOR and not organisation_code:
        raise ValidationError(f"user {name}", "organisation",
                              "an operator editor reports for one organisation; name it")
    with repo.unit(author, f"user {name} added") as uow:
        if uow.conn.execute(select(s.users.c.id).where(s.users.c.username == name)).first():
            raise ValidationError(f"user {name}", "username", "a user with this name exists")
        org_id = uow.id_of(s.organisations, organisation_code) if organisation_code else None
        uow.insert(s.users, {"username": name, "password_hash": hash_password(password),
                             "role": parsed.value, "organisation_id": org_id,
                             "disabled": False})


def list_users(repo: Repository) -> list[UserLine]:
    u, o = s.users, s.organisations
    with repo.reader() as uow:
        rows = uow.conn.execute(
            select(u.c.username, u.c.role, o.c.code, u.c.disabled, u.c.version)
            .outerjoin(o, o.c.id == u.c.organisation_id).order_by(u.c.username)).all()
    return [UserLine(*row) for row in rows]


def _user_row(uow, username: str) -> dict:
    row = uow.conn.execute(select(s.users).where(
        s.users.c.username == _check_username(username))).mappings().first()
    if row is None:
        raise NotFound("user", username)
    return dict(row)


def set_disabled(repo: Repository, *, author: str, username: str, disabled: bool = True) -> None:
    """Disable (or enable again) an account; a disabled account's tokens stop working."""
    with repo.unit(author, f"user {username} {'disabled' if disabled else 'enabled'}") as uow:
        row = _user_row(uow, username)
        uow.update(s.users, row["id"], {"disabled": disabled},
                   action="disable" if disabled else "enable")
        if disabled:
            uow.conn.execute(update(s.api_tokens).where(
                s.api_tokens.c.user_id == row["id"], s.api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=uow.now))


def _token_hash(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def login(repo: Repository, *, secret: str, username: str, password: str) -> str:
    """A new bearer token for a user whose password matches; else :class:`LoginFailed`."""
    try:
        name = _check_username(username)
    except ValidationError as exc:
        raise LoginFailed("wrong user name or password") from exc
    with repo.unit(name, "login") as uow:
        row = uow.conn.execute(select(s.users).where(s.users.c.username == name)) \
            .mappings().first()
        stored = row["password_hash"] if row is not None else _dummy_hash()
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError) as exc:
            raise LoginFailed("wrong user name or password") from exc
        if row is None or row["disabled"]:
            raise LoginFailed("wrong user name or password")
        if _hasher.check_needs_rehash(stored):
            uow.conn.execute(update(s.users).where(s.users.c.id == row["id"])
                             .values(password_hash=hash_password(password)))
        token = secrets.token_urlsafe(32)
        uow.conn.execute(s.api_tokens.insert().values(
            token_hash=_token_hash(secret, token), user_id=row["id"], created_at=uow.now,
            expires_at=uow.now + TOKEN_LIFETIME))
    return token


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so that a wrong name costs as long
    as a wrong password and response times do not reveal which accounts exist."""
    return _hasher.hash(secrets.token_urlsafe(16))


def principal_for_token(repo: Repository, *, secret: str, token: str,
                        now: datetime | None = None) -> Principal | None:
    """The user a live token belongs to, or ``None`` (unknown, expired, revoked, disabled)."""
    u, t, o = s.users, s.api_tokens, s.organisations
    now = now or utcnow()
    with repo.reader() as uow:
        row = uow.conn.execute(
            select(u.c.username, u.c.role, o.c.code, t.c.expires_at)
            .join(u, u.c.id == t.c.user_id).outerjoin(o, o.c.id == u.c.organisation_id)
            .where(t.c.token_hash == _token_hash(secret, token), t.c.revoked_at.is_(None),
                   u.c.disabled.is_(False))).first()
    if row is None:
        return None
    username, role, org, expires = row
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=now.tzinfo)
    if expires <= now:
        return None
    return Principal(username, Role(role), org)


def logout(repo: Repository, *, secret: str, token: str, username: str) -> None:
    with repo.unit(username, "logout") as uow:
        uow.conn.execute(update(s.api_tokens).where(
            s.api_tokens.c.token_hash == _token_hash(secret, token),
            s.api_tokens.c.revoked_at.is_(None)).values(revoked_at=uow.now))


def reset_password(repo: Repository, *, author: str, username: str, password: str) -> None:
    """Set a user's password as an administrator does (no old password); every session
    of the user ends. ``demine demo --serve`` gives its demo accounts fresh ones."""
    with repo.unit(author, f"user {username} password reset") as uow:
        row = _user_row(uow, username)
        _check_password(row["username"], password)
        uow.update(s.users, row["id"], {"password_hash": hash_password(password)},
                   action="password")
        uow.conn.execute(update(s.api_tokens).where(
            s.api_tokens.c.user_id == row["id"], s.api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=uow.now))


def change_password(repo: Repository, *, username: str, old_password: str,
                    new_password: str) -> None:
    """Change one's own password; every other session of the user is ended."""
    with repo.unit(username, f"user {username} changed password") as uow:
        row = _user_row(uow, username)
        try:
            _hasher.verify(row["password_hash"], old_password)
        except (VerifyMismatchError, VerificationError, InvalidHashError) as exc:
            raise LoginFailed("the current password is wrong") from exc
        _check_password(row["username"], new_password)
        uow.update(s.users, row["id"], {"password_hash": hash_password(new_password)},
                   action="password")
        uow.conn.execute(update(s.api_tokens).where(
            s.api_tokens.c.user_id == row["id"], s.api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=uow.now))
