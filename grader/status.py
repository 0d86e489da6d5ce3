"""The one status vocabulary of the grader: cases, functions, assignments, reports, JUnit.

A case is ``passed``, ``failed`` (ran, wrong answer), ``banned`` (used a
routine it had to write by hand, or tampered with the grader), ``timeout``,
``error`` (raised, crashed, ran out of memory), ``not_implemented`` (raised
NotImplementedError or is missing) or ``skipped`` (not run: the
submission's time ran out). :attr:`Status.severity` orders them, most
serious first; it decides what a group of cases (a function, the devices of
one case) is reported as.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Status", "worst", "combine"]


class Status(str, Enum):
    """A case's status; a ``str`` (``Status.PASSED == "passed"``), so JSON and templates see plain strings."""

    BANNED = "banned"
    TIMEOUT = "timeout"
    ERROR = "error"
    FAILED = "failed"
    NOT_IMPLEMENTED = "not_implemented"
    SKIPPED = "skipped"
    PASSED = "passed"

    def __str__(self) -> str:
        return self.value

    @property
    def severity(self) -> int:
        """0 for the most serious (``banned``) to 6 for ``passed``."""
        return _ORDER.index(self)

    @property
    def label(self) -> str:
        """How reports write it (``"not implemented"``)."""
        return self.value.replace("_", " ")

    @property
    def is_failure(self) -> bool:
        """A JUnit failure (wrong, banned, missing) rather than an error (crashed, timed out) or a skip."""
        return self in (Status.FAILED, Status.BANNED, Status.NOT_IMPLEMENTED)


_ORDER = list(Status)


def worst(statuses) -> Status:
    """The most serious of ``statuses`` (``skipped`` for none)."""
    items = [Status(s) for s in statuses]
    return min(items, key=lambda s: s.severity) if items else Status.SKIPPED


def combine(statuses) -> Status:
    """One status for a group of cases (a function): ``passed`` or ``not_implemented`` when every case
    agrees, else the most serious status present."""
    items = [Status(s) for s in statuses]
    if items and all(s is Status.PASSED for s in items):
        return Status.PASSED
    if items and all(s is Status.NOT_IMPLEMENTED for s in items):
        return Status.NOT_IMPLEMENTED
    return worst(s for s in items if s is not Status.PASSED) if items else Status.SKIPPED
