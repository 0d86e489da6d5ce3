"""The records batch grading passes between its steps (frozen dataclasses), and the output folder's layout.

Nothing here does any work; every step module imports its records from here, and this module
imports nothing from the batch package (no import cycles).

The flow: :func:`grader.batch.discover.discover` finds :class:`Entry` records (a :class:`Discovery`);
:func:`grader.batch.run.run_batch` turns each entry that is not in the cache into a :class:`Task`;
a worker (:func:`grader.batch.task.grade_task`) turns a task into an :class:`Outcome`; the outcome
is stored as a :class:`CacheRecord`; every entry becomes one gradebook :class:`Row`; the run
returns a :class:`BatchSummary`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ArchiveLimits", "Entry", "Discovery", "Task", "Outcome", "Row", "CacheRecord", "BatchOptions", "BatchSummary",
    "GRADEBOOK", "CLASS_REPORT", "CACHE_DIR", "WORK_DIR", "CACHE_FORMAT",
]

# The output folder (``grade batch --out DIR``): per entry ``<id>.json``, ``<id>.html`` and
# ``<id>.results.json``, plus these.
GRADEBOOK = "gradebook.csv"
CLASS_REPORT = "class_report.html"
CACHE_DIR = ".grade-cache"
WORK_DIR = ".grade-work"
CACHE_FORMAT = 1
"""Version of the :class:`CacheRecord` files (part of every cache key: a new format misses the old records)."""


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps that keep hostile or broken input from exhausting the machine (all in bytes or file counts).

    Named apart from :class:`grader.spec.Limits` (the time and memory limits of one graded case).

    Attributes:
        entry_bytes: raw bytes of one entry as found (files, or the zip itself).
        entry_files: files in one entry (a folder, or the members of its zip).
        unzipped_bytes: total uncompressed size of one entry's zip members,
            checked from the zip's directory before anything is read and again
            while reading (a lying header stops at the cap).
        export_bytes: total uncompressed size of an LMS export zip.
        export_files: members of an LMS export zip.
    """

    entry_bytes: int = 64 << 20
    entry_files: int = 2000
    unzipped_bytes: int = 128 << 20
    export_bytes: int = 8 << 30
    export_files: int = 200_000


@dataclass(frozen=True)
class Entry:
    """One student's submission as found in SUBMISSIONS.

    Attributes:
        id: student id, unique in the batch (rules: :mod:`grader.batch.lms`).
        name: the entry as found: file or folder name, or the LMS label of the student.
        kind: ``folder``, ``py``, ``ipynb``, ``zip``, ``files`` (an LMS student's files) or ``other``.
        source: ``plain``, ``canvas``, ``moodle`` or ``gradescope``.
        files: (relative path inside the submission, absolute path on disk), sorted.
        student_name: the student's name when the LMS gives it.
        lms_id: the LMS's own id (Canvas user id, Moodle participant id, Gradescope folder).
        late: the LMS marked the submission late (Canvas).
        error: why this entry cannot be graded, found during discovery ("" if none).
        duplicate_of: the id this entry's id collided with, if any.
    """

    id: str
    name: str
    kind: str
    source: str = "plain"
    files: tuple[tuple[str, str], ...] = ()
    student_name: str = ""
    lms_id: str = ""
    late: bool = False
    error: str = ""
    duplicate_of: str = ""


@dataclass(frozen=True)
class Discovery:
    """What :func:`grader.batch.discover.discover` found.

    Attributes:
        root: the folder the entries were read from (an export zip is extracted first).
        source: the LMS format recognised (``canvas``, ``moodle``, ``gradescope``, ``mixed`` or ``plain``).
        entries: sorted by id.
        duplicates: (id, entry names) for every id that more than one entry claimed.
        notes: files skipped and other remarks, for the person running the batch.
    """

    root: str
    source: str
    entries: tuple[Entry, ...]
    duplicates: tuple[tuple[str, tuple[str, ...]], ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Task:
    """One entry to grade, self-contained (picklable; sent to a worker process or a Dask worker).

    Attributes:
        id, name, key: the entry's id, its name as found, and its cache key.
        files: the entry's files as (relative path, bytes) (zips not yet unpacked).
        assignments: ids to grade (never empty: every assignment when none was chosen).
        device: ``auto``, ``cpu`` or ``cuda``.
        time_scale, submission_seconds: see :class:`grader.judge.engine.Options`.
        function_jobs: functions of the submission graded at once.
        reference_dir: references and specs (must exist at this path where the task runs).
        reference_hash: the reference tree's hash as the instructor's machine saw it.
        work_root: where to write the files ("" = a temporary folder).
        worker_start: how to start the sandbox Worker (``auto`` or ``spawn``).
        limits: unpacking caps.
    """

    id: str
    name: str
    key: str
    files: tuple[tuple[str, bytes], ...]
    assignments: tuple[str, ...]
    device: str = "auto"
    time_scale: float = 1.0
    submission_seconds: float = 300.0
    function_jobs: int = 1
    reference_dir: str = ""
    reference_hash: str = ""
    work_root: str = ""
    worker_start: str = "auto"
    limits: ArchiveLimits = ArchiveLimits()


@dataclass(frozen=True)
class Outcome:
    """The result of a :class:`Task`.

    Attributes:
        id, key: from the task.
        doc: the ``grade check --json`` document (:meth:`grader.results.GradeResult.to_dict`).
        html: the per-submission HTML report.
        gradescope: the Gradescope ``results.json`` document.
        error: why the entry could not be graded ("" when it was graded).
        cacheable: the outcome depends only on the entry and the grader (not on a crash or timeout of ours).
        seconds: wall time of the task.
        worker: where it ran (``host:pid``).
        rss_mb / zygote_rss_mb: peak resident memory of the batch worker and of its sandbox zygote (MiB).
    """

    id: str
    key: str
    doc: dict
    html: str = ""
    gradescope: dict = field(default_factory=dict)
    error: str = ""
    cacheable: bool = True
    seconds: float = 0.0
    worker: str = ""
    rss_mb: float = 0.0
    zygote_rss_mb: float = 0.0


@dataclass(frozen=True)
class Row:
    """One line of ``gradebook.csv``. No timing columns: a rerun gives the same rows.

    Attributes:
        id, name, lms_id, entry, late: from the :class:`Entry` (``name`` is the student's name).
        scores: (assignment id, points or None when not graded), in column order.
        total, max_total: points of the whole submission (None for an entry that could not be graded).
        status: ``passed``, ``failed`` or ``error`` (the ``status`` of ``<id>.json``).
        reason: why the entry could not be graded, and duplicate-id notes ("" if none).
    """

    id: str
    name: str
    lms_id: str
    entry: str
    late: bool
    scores: tuple[tuple[str, float | None], ...]
    total: float | None
    max_total: float | None
    status: str
    reason: str


@dataclass(frozen=True)
class CacheRecord:
    """One graded entry as stored in ``DIR/.grade-cache/<key>.json``.

    The file is ``{"format", "key", "id", "entry", "error", "doc"}`` in that order, written by
    :meth:`to_json` (the byte layout of every version so far: old caches stay valid).

    Attributes:
        key: the cache key (:func:`grader.batch.cache.cache_key`); also the file name.
        id: the entry's id; entry: its name as found.
        error: why the entry could not be graded ("" when it was graded).
        doc: the ``grade check --json`` document.
        format: :data:`CACHE_FORMAT` of the writer.
    """

    key: str
    id: str
    entry: str
    error: str
    doc: dict
    format: int = CACHE_FORMAT

    def to_json(self) -> str:
        """The file's text (one line, no NaN)."""
        return json.dumps({"format": self.format, "key": self.key, "id": self.id, "entry": self.entry,
                           "error": self.error, "doc": self.doc}, allow_nan=False, default=str)

    @classmethod
    def from_json(cls, text: str) -> CacheRecord:
        """Parse a record file.

        Raises:
            ValueError: not JSON, not an object, or no ``doc`` object (a damaged record: regrade the entry).
        """
        raw: Any = json.loads(text)
        if not isinstance(raw, dict) or not isinstance(raw.get("doc"), dict):
            raise ValueError("a cache record must be a JSON object with a 'doc' object")
        return cls(key=str(raw.get("key", "")), id=str(raw.get("id", "")), entry=str(raw.get("entry", "")),
                   error=str(raw.get("error", "") or ""), doc=raw["doc"], format=int(raw.get("format", CACHE_FORMAT)))


@dataclass(frozen=True)
class BatchOptions:
    """Knobs of :func:`grader.batch.run.run_batch`.

    Attributes:
        assignments: ids to grade (default: every assignment of the catalog).
        device: ``auto`` (CPU plus CUDA when present), ``cpu`` or ``cuda``.
        jobs: worker processes (default: the CPU cores available).
        force: regrade every entry, ignoring the cache.
        scheduler: a Dask scheduler address (``tcp://host:8786``) to run the tasks on instead of local workers.
        reference_dir: references and specs (default: :func:`grader.catalog.project.default_reference_dir`).
        time_scale: multiplies every time limit.
        submission_seconds: grading budget of one submission (before ``time_scale``);
            functions not started by then are ``skipped``.
        function_jobs: functions of one submission graded at once inside a worker.
        task_grace_seconds: a worker that has not answered ``submission_seconds * time_scale``
            plus this long after receiving a task is killed; the entry gets an error row.
        limits: caps on entry sizes (:class:`ArchiveLimits`).
    """

    assignments: tuple[str, ...] = ()
    device: str = "auto"
    jobs: int | None = None
    force: bool = False
    scheduler: str | None = None
    reference_dir: str | None = None
    time_scale: float = 1.0
    submission_seconds: float = 300.0
    function_jobs: int = 1
    task_grace_seconds: float = 120.0
    limits: ArchiveLimits = ArchiveLimits()


@dataclass(frozen=True)
class BatchSummary:
    """What :func:`grader.batch.run.run_batch` did.

    Attributes:
        out_dir: the output folder.
        discovery: the entries found.
        rows: the gradebook rows, sorted by id.
        graded / cached / errors: entries graded now, taken from the cache, and rows with status ``error``.
        seconds: wall time of the run.
        gradebook / class_report: paths written.
        assignments: the assignment ids graded (gradebook columns).
        outcomes: the outcomes of the entries graded in this run (not the cached ones), without their
            documents and reports (those are on disk).
        workers: peak memory per worker, ``{worker: (rss_mb, zygote_rss_mb)}``.
    """

    out_dir: str
    discovery: Discovery
    rows: tuple[Row, ...]
    graded: int
    cached: int
    errors: int
    seconds: float
    gradebook: str
    class_report: str
    assignments: tuple[str, ...]
    outcomes: tuple[Outcome, ...] = ()
    workers: dict = field(default_factory=dict)
