"""Who may do what: roles and the permissions they carry.

Kept in the domain, not in the server, so that every door (HTTP, CLI, a future sync
job) asks the same question and gets the same answer. Permissions are small verbs; a
route asks for a permission, never for a role, so that a centre can grant a viewer the
right to see victims' personal data without making them an information manager.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from demine.domain.errors import DemineError


class Role(StrEnum):
    ADMIN = "admin"
    INFORMATION_MANAGER = "information_manager"
    OPERATOR_EDITOR = "operator_editor"
    VIEWER = "viewer"


class Permission(StrEnum):
    READ = "read"
    #: victims' sex, age and activity, accidents' narrative
    READ_PERSONAL = "read_personal"
    #: create and submit reports, for the user's own organisation only
    REPORT = "report"
    #: approve or reject submitted reports, any organisation
    DECIDE = "decide"
    #: edit organisations, teams and settlements
    EDIT_REFERENCE = "edit_reference"
    MANAGE_USERS = "manage_users"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.INFORMATION_MANAGER: frozenset({
        Permission.READ, Permission.READ_PERSONAL, Permission.REPORT, Permission.DECIDE,
        Permission.EDIT_REFERENCE}),
    Role.OPERATOR_EDITOR: frozenset({Permission.READ, Permission.REPORT}),
    Role.VIEWER: frozenset({Permission.READ}),
}

#: Roles whose reports are not tied to one organisation.
ALL_ORGANISATIONS = frozenset({Role.ADMIN, Role.INFORMATION_MANAGER})


class Forbidden(DemineError):
    """An authenticated user asked for something their role does not allow."""


@dataclass(frozen=True)
class Principal:
    """The authenticated user behind a request, as the services need to see them."""

    username: str
    role: Role
    organisation_code: str | None

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS[self.role]

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission, what: str) -> None:
        if not self.can(permission):
            raise Forbidden(f"{what}: user {self.username!r} ({self.role.value}) "
                            f"lacks the {permission.value!r} permission")

    def require_organisation(self, organisation_code: str, what: str) -> None:
        """Operators act for their own organisation only; managers for any."""
        if self.role in ALL_ORGANISATIONS:
            return
        if organisation_code != self.organisation_code:
            raise Forbidden(f"{what}: user {self.username!r} reports for organisation "
                            f"{self.organisation_code!r}, not {organisation_code!r}")
