"""Errors that name the record, the field and the problem.

An information manager fixing a rejected report needs to know *which* record and
*which* field; a bare "invalid input" sends them back to the operator with nothing.
"""

from __future__ import annotations


class DemineError(Exception):
    """Base of every error demine raises on purpose."""


class ValidationError(DemineError):
    def __init__(self, record: str, field: str, problem: str) -> None:
        self.record = record
        self.field = field
        self.problem = problem
        super().__init__(f"{record}: {field}: {problem}")


class RuleViolation(ValidationError):
    """Input that is well formed but breaks a rule of land release or accounting."""


class NotFound(DemineError):
    def __init__(self, entity: str, key: object) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key!r} not found")


class StaleVersion(DemineError):
    """A write based on an old version: refused so that no update is lost."""

    def __init__(self, entity: str, code: str, expected: int, actual: int) -> None:
        self.entity = entity
        self.code = code
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{entity} {code}: version: stale version {expected}, the record is now at "
            f"version {actual}; reload it and apply your change again"
        )


class WorkflowError(DemineError):
    """A report moved out of the order draft -> submitted -> approved | rejected."""
