"""``grade batch``: grade a whole class into a gradebook, reports and a class report.

One module per step (none imports a later one; all are light to import: the grader's heavy
parts are imported inside the functions that need them):

* :mod:`~grader.batch.errors` — :class:`EntryError` (one entry; the batch goes on) and
  :class:`BatchError` (the batch stops; carries its exit code).
* :mod:`~grader.batch.records` — the frozen records passed between the steps, and the
  output folder's layout.
* :mod:`~grader.batch.archive` — safe zip reading (in memory), LMS export extraction, safe paths.
* :mod:`~grader.batch.lms` — student ids from entry names: plain, Canvas, Moodle, Gradescope.
* :mod:`~grader.batch.discover` — the entries of SUBMISSIONS, unique ids, reading an entry.
* :mod:`~grader.batch.cache` — content hashes, the batch fingerprint, cache keys and records.
* :mod:`~grader.batch.outputs` — per-entry outputs (``<id>.json``, ``.html``, ``.results.json``).
* :mod:`~grader.batch.task` — grade one task (the worker side).
* :mod:`~grader.batch.executors` — the local pool and Dask, behind one interface.
* :mod:`~grader.batch.gradebook` — ``gradebook.csv``.
* :mod:`~grader.batch.run` — the pipeline, :func:`run_batch`.

From Python, :func:`grader.api.batch` takes the options as keywords; ``from grader.batch import
BatchOptions, run_batch`` works too.
"""

from grader.batch.archive import read_zip, safe_relpath
from grader.batch.cache import batch_fingerprint, entry_content_hash
from grader.batch.discover import discover, read_entry
from grader.batch.errors import BatchError, EntryError
from grader.batch.executors import default_jobs
from grader.batch.gradebook import gradebook_rows, read_gradebook, write_gradebook
from grader.batch.outputs import error_result_doc
from grader.batch.records import (CACHE_DIR, CLASS_REPORT, GRADEBOOK, WORK_DIR, ArchiveLimits, BatchOptions,
                                  BatchSummary, CacheRecord, Discovery, Entry, Outcome, Row, Task)
from grader.batch.run import run_batch, spec_ids
from grader.batch.task import close_states, grade_task

__all__ = [
    "ArchiveLimits", "Entry", "Discovery", "Task", "Outcome", "Row", "CacheRecord", "BatchOptions", "BatchSummary",
    "EntryError", "BatchError", "discover", "read_entry", "entry_content_hash", "read_zip", "safe_relpath",
    "grade_task", "run_batch", "default_jobs", "batch_fingerprint", "spec_ids", "error_result_doc",
    "gradebook_rows", "write_gradebook", "read_gradebook", "close_states", "GRADEBOOK", "CLASS_REPORT", "CACHE_DIR",
    "WORK_DIR",
]
