"""The two ways batch grading fails: one entry (the batch goes on) or the whole batch (it stops).

:class:`BatchError` is the grader's own (:mod:`grader.errors`, one hierarchy under
:class:`grader.errors.GradeError`), re-exported here: it carries the exit code ``grade batch``
ends with (``exit_code`` = 2), so the command only prints the message and exits with it.
:class:`EntryError` never leaves the batch: it becomes the entry's ``error`` row.
"""

from __future__ import annotations

from grader.errors import BatchError

__all__ = ["EntryError", "BatchError"]


class EntryError(ValueError):
    """One entry cannot be graded (unreadable, unsafe, empty, unknown assignment); the batch goes on.

    The message names the entry, says what was found and what was expected; it becomes the
    entry's gradebook ``reason`` and the ``problems`` of its ``<id>.json``.
    """
