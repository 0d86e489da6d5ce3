"""The grader's errors: one hierarchy, each with the exit code the CLI ends with.

Raised by :mod:`grader.api` and everything below it for problems the user
can fix (a broken spec, an unreadable submission, an unknown assignment,
CUDA asked for but absent); the CLI catches :class:`GradeError` in one place
and prints ``error: <message>``. Anything a *submission* does is never an
exception: it is a case status.
"""

from __future__ import annotations

__all__ = ["GradeError", "UsageError", "SpecError", "SubmissionError", "ReleaseError", "BatchError", "DeviceError",
           "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_INTERRUPTED"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class GradeError(Exception):
    """A problem the user can fix; the message says what happened, what was expected and how to fix it."""

    exit_code = EXIT_USAGE


class UsageError(GradeError, ValueError):
    """Bad arguments (an unknown device, an option out of range)."""


class SpecError(UsageError):
    """An assignment spec or reference is malformed, or an assignment id is unknown (raised at load time)."""


class SubmissionError(UsageError):
    """A submission cannot be read at all (missing, not UTF-8, binary, invalid notebook)."""


class ReleaseError(SpecError):
    """A student kit cannot be built safely (it would leak reference code or hidden cases)."""


class BatchError(GradeError):
    """A batch cannot start (SUBMISSIONS missing, output folder unusable, scheduler unreachable)."""


class DeviceError(UsageError):
    """A device was requested that this machine does not have (``--device cuda`` without CUDA)."""
