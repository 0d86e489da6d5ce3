"""The two ways batch grading fails: one entry (the batch goes on) or the whole batch (it stops).

``BatchError`` carries the process exit code the ``grade batch`` command ends with, so the
command only prints the message and exits with ``exit_code`` (no error handling of its own).
"""

from __future__ import annotations

__all__ = ["EntryError", "BatchError"]


class EntryError(ValueError):
    """One entry cannot be graded (unreadable, unsafe, empty, unknown assignment); the batch goes on.

    The message names the entry, says what was found and what was expected; it becomes the
    entry's gradebook ``reason`` and the ``problems`` of its ``<id>.json``.
    """


class BatchError(RuntimeError):
    """The batch as a whole cannot run (bad SUBMISSIONS, unknown assignment id, broken specs, bad export,
    unreachable Dask scheduler, grading workers that cannot start).

    Attributes:
        exit_code: the exit status of ``grade batch`` for this error (2: a usage error).
    """

    exit_code: int = 2
