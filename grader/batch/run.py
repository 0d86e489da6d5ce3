"""Grade a whole class: discover entries, read them safely, grade in parallel, write outputs.

The pieces, as plain functions (the ``grade batch`` command is a thin layer
over :func:`run_batch`):

* :func:`discover` — the entries of SUBMISSIONS (a folder, or an LMS export
  ``.zip``) and each entry's student id (rules below); duplicates reported.
* :func:`read_entry` — an entry's files as ``{relative path: bytes}``, with
  size and count caps.  Nothing is executed or imported here.
* :func:`grade_task` — grade one entry (runs in a batch worker process or a
  Dask worker): unpack zips safely in memory, pick the layout, write the files
  into a private work folder, then :func:`grader.loader.load_submission` and
  :func:`grader.judge.engine.grade_submission` with a :class:`grader.sandbox.worker.Worker`
  kept per process.  Student code runs only in the Worker's forked children.
* :func:`run_batch` — the whole run: cache look-ups, a local pool of spawned
  worker processes (or a Dask cluster), atomic outputs, the gradebook and the
  class report.

Entry kinds (a plain folder of submissions): a folder of modules
(``<assignment>.py`` / ``.ipynb``), one ``.py``, one ``.ipynb``, or a ``.zip``
of any of those.  LMS exports are recognised by their names:

* **Canvas** (flat files): ``<login>_<userid>_<submissionid>_<file>`` and, for
  late work, ``<login>_late_<userid>_<submissionid>_<file>``.  All files of a
  student form one entry; Canvas's re-upload suffix (``activations-1.py``) is
  dropped.  Student id: ``<login>_<userid>``.
* **Moodle**: folders ``<Full Name>_<id>_assignsubmission_file_`` (or flat
  files ``<Full Name>_<id>_assignsubmission_file_<file>``).  Student id: the
  full name in lower-case ASCII with ``_`` for spaces, then ``_<id>``
  (``ada_lovelace_123456``).
* **Gradescope**: a folder per submission (``submission_<n>``) next to a
  ``submission_metadata.yml``.  Student id: the submitter's SID, else the
  e-mail's local part, else the folder name; group submissions join the ids
  with ``+``.
* Anything else: the entry's name without ``.py``/``.ipynb``/``.zip``, with
  every character outside ``A-Z a-z 0-9 . _ -`` replaced by ``_``.

Ids are compared case-insensitively; a repeated id is reported, the first
entry (in name order) keeps it and the others get ``__2``, ``__3``.

Resume and cache: each graded entry is stored under ``DIR/.grade-cache/<key>.json``
where ``key`` hashes the entry's content, its id, the grader's version and
sources, the reference and spec files, the torch version and the options that
change a grade.  Every file is written atomically (temp file + rename), the
cache record last, so a batch killed at any moment and rerun gives the same
gradebook as a clean run.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import signal
import stat
import threading
import time
import traceback
import unicodedata
import zipfile
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable

__all__ = [
    "Limits", "Entry", "Discovery", "Task", "Outcome", "Row", "BatchOptions", "BatchSummary", "EntryError",
    "BatchError", "discover", "read_entry", "entry_content_hash", "read_zip", "safe_relpath", "grade_task",
    "run_batch", "default_jobs", "batch_fingerprint", "spec_ids", "error_result_doc", "gradebook_rows",
    "write_gradebook", "read_gradebook", "close_states", "GRADEBOOK", "CLASS_REPORT", "CACHE_DIR", "WORK_DIR",
]

GRADEBOOK = "gradebook.csv"
CLASS_REPORT = "class_report.html"
CACHE_DIR = ".grade-cache"
WORK_DIR = ".grade-work"
CACHE_FORMAT = 1

_JUNK_NAMES = {"__MACOSX", "__pycache__", "Thumbs.db", "desktop.ini"}
_CODE_SUFFIXES = (".py", ".ipynb")
_RESERVED_IDS = {"gradebook", "class_report", "index"}


class EntryError(ValueError):
    """One entry cannot be graded (unreadable, unsafe, empty, unknown assignment); the batch goes on."""


class BatchError(RuntimeError):
    """The batch as a whole cannot run (bad SUBMISSIONS, unknown assignment id, broken specs, bad export)."""


@dataclass(frozen=True)
class Limits:
    """Caps that keep hostile or broken input from exhausting the machine.

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


# ---------------------------------------------------------------------------
# records


@dataclass(frozen=True)
class Entry:
    """One student's submission as found in SUBMISSIONS.

    Attributes:
        id: student id, unique in the batch (see the module docstring for the rules).
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
    """What :func:`discover` found.

    Attributes:
        root: the folder the entries were read from (an export zip is extracted first).
        source: the LMS format recognised (``canvas``, ``moodle``, ``gradescope``, or ``plain``).
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
        files: the entry's files (zips not yet unpacked).
        assignments: ids to grade (never empty: every assignment when none was chosen).
        device: ``auto``, ``cpu`` or ``cuda``.
        time_scale, submission_seconds: see :class:`grader.judge.engine.Options`.
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
    limits: Limits = Limits()


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
    """One line of ``gradebook.csv``. No timing columns: a rerun gives the same rows."""

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
class BatchOptions:
    """Knobs of :func:`run_batch`.

    Attributes:
        assignments: ids to grade (default: every assignment of the catalog).
        device: ``auto`` (CPU plus CUDA when present), ``cpu`` or ``cuda``.
        jobs: worker processes (default: the CPU cores available).
        force: regrade every entry, ignoring the cache.
        scheduler: a Dask scheduler address (``tcp://host:8786``) to run the tasks on instead of local workers.
        reference_dir: references and specs (default: :func:`grader.loader.default_reference_dir`).
        time_scale: multiplies every time limit.
        submission_seconds: grading budget of one submission (before ``time_scale``);
            functions not started by then are ``skipped``.
        function_jobs: functions of one submission graded at once inside a worker.
        task_grace_seconds: a worker that has not answered ``submission_seconds * time_scale``
            plus this long after receiving a task is killed; the entry gets an error row.
        limits: caps on entry sizes (:class:`Limits`).
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
    limits: Limits = Limits()


@dataclass(frozen=True)
class BatchSummary:
    """What :func:`run_batch` did.

    Attributes:
        out_dir: the output folder.
        discovery: the entries found.
        rows: the gradebook rows, sorted by id.
        graded / cached / errors: entries graded now, taken from the cache, and rows with status ``error``.
        seconds: wall time of the run.
        gradebook / class_report: paths written.
        assignments: the assignment ids graded (gradebook columns).
        outcomes: the outcomes of the entries graded in this run (not the cached ones).
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


# ---------------------------------------------------------------------------
# names, ids and safe paths


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


def _sanitize_id(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    s = re.sub(r"_+", "_", s)[:100]
    if not s:
        return "entry"
    if s.lower() in _RESERVED_IDS:
        s = f"student_{s}"
    return s


def _plain_id(name: str) -> str:
    p = PurePosixPath(name)
    stem = p.stem if p.suffix.lower() in (".py", ".ipynb", ".zip") else p.name
    return _sanitize_id(stem)


def _is_junk(part: str) -> bool:
    return part.startswith(".") or part in _JUNK_NAMES or part.endswith(".pyc") or part.startswith("~$")


def safe_relpath(name: str) -> str:
    """A member name from an archive as a safe relative POSIX path.

    Backslashes count as separators; ``.`` components are dropped.

    Raises:
        EntryError: the name is absolute (``/x``, ``C:\\x``, ``\\\\server\\x``), has a ``..``
            component or a NUL byte, or is empty.
    """
    raw = name.replace("\\", "/")
    if "\x00" in raw:
        raise EntryError(f"unsafe path {name!r} in the archive: it contains a NUL byte.")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise EntryError(f"unsafe path {name!r} in the archive: absolute paths are not allowed "
                         "(nothing was extracted). Zip the files with relative paths.")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise EntryError(f"unsafe path {name!r} in the archive: '..' would leave the submission's folder "
                         "(nothing was extracted). Zip the files with relative paths.")
    if not parts:
        raise EntryError(f"empty member name {name!r} in the archive.")
    return "/".join(parts)


# ---------------------------------------------------------------------------
# zips


def read_zip(data: bytes, *, name: str, limits: Limits = Limits()) -> dict[str, bytes]:
    """The members of a zip archive, in memory: ``{safe relative path: bytes}``.

    Directories, links-free junk (``__MACOSX``, hidden files, ``__pycache__``) are left out.
    Nothing touches the disk.

    Args:
        data: the archive's bytes.
        name: the archive's name, for messages.
        limits: ``entry_files`` and ``unzipped_bytes`` caps.

    Raises:
        EntryError: not a zip, encrypted, a member with an unsafe path or a symbolic
            link, too many members, or more than ``limits.unzipped_bytes`` once
            uncompressed (a zip bomb).
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise EntryError(f"{name}: not a readable zip archive ({e}). Re-create it with a standard zip tool.") from None
    with zf:
        infos = zf.infolist()
        members = [i for i in infos if not i.is_dir()]
        if len(members) > limits.entry_files:
            raise EntryError(f"{name}: the archive has {len(members)} files; at most {limits.entry_files} are "
                             "accepted per submission (nothing was extracted).")
        declared = sum(i.file_size for i in members)
        if declared > limits.unzipped_bytes:
            raise EntryError(f"{name}: the archive would expand to {_size(declared)} (more than the "
                             f"{_size(limits.unzipped_bytes)} allowed per submission; a zip bomb?). Nothing was "
                             "extracted.")
        checked: list[tuple[zipfile.ZipInfo, str]] = []
        for info in infos:
            rel = safe_relpath(info.filename)
            mode = (info.external_attr >> 16) & 0o170000
            if mode == stat.S_IFLNK:
                raise EntryError(f"{name}: member {info.filename!r} is a symbolic link; links are not accepted "
                                 "(nothing was extracted).")
            if info.flag_bits & 0x1:
                raise EntryError(f"{name}: member {info.filename!r} is encrypted; submit an archive without a "
                                 "password.")
            if not info.is_dir():
                checked.append((info, rel))
        out: dict[str, bytes] = {}
        budget = limits.unzipped_bytes
        for info, rel in checked:
            if any(_is_junk(p) for p in rel.split("/")):
                continue
            try:
                with zf.open(info) as f:
                    chunks = []
                    got = 0
                    while True:
                        chunk = f.read(1 << 16)
                        if not chunk:
                            break
                        got += len(chunk)
                        if got > budget:
                            raise EntryError(f"{name}: the archive expands beyond {_size(limits.unzipped_bytes)} "
                                             "(its headers understate the sizes; a zip bomb?). Nothing was "
                                             "extracted.")
                        chunks.append(chunk)
            except EntryError:
                raise
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as e:
                raise EntryError(f"{name}: member {info.filename!r} cannot be read ({type(e).__name__}: {e}).") \
                    from None
            budget -= got
            if rel in out:
                raise EntryError(f"{name}: the archive holds {rel!r} twice.")
            out[rel] = b"".join(chunks)
        return out


def _extract_export(zip_path: Path, dest: Path, *, limits: Limits) -> tuple[Path, list[str]]:
    """Extract an LMS export zip under ``dest`` (once; reused when already complete)."""
    notes: list[str] = []
    done = dest / ".complete"
    if done.is_file():
        return dest / "files", json.loads(done.read_text() or "[]")
    tmp = dest.with_name(dest.name + f".partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    files_dir = tmp / "files"
    files_dir.mkdir(parents=True)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as e:
        raise BatchError(f"{zip_path}: not a readable zip archive ({e}). Pass the LMS's 'download all "
                         "submissions' zip, or a folder of submissions.") from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > limits.export_files:
            raise BatchError(f"{zip_path}: {len(infos)} files is more than the {limits.export_files} accepted in "
                             "an export; nothing was extracted.")
        declared = sum(i.file_size for i in infos)
        if declared > limits.export_bytes:
            raise BatchError(f"{zip_path}: the export would expand to {_size(declared)}, more than "
                             f"{_size(limits.export_bytes)}; nothing was extracted.")
        budget = limits.export_bytes
        for info in infos:
            try:
                rel = safe_relpath(info.filename)
            except EntryError as e:
                notes.append(f"skipped export member: {e}")
                continue
            if (info.external_attr >> 16) & 0o170000 == stat.S_IFLNK:
                notes.append(f"skipped export member {info.filename!r}: symbolic link")
                continue
            if any(_is_junk(p) for p in rel.split("/")) and not rel.endswith("submission_metadata.yml"):
                continue
            target = files_dir / rel
            if not str(target.resolve()).startswith(str(files_dir.resolve()) + os.sep):
                notes.append(f"skipped export member {info.filename!r}: outside the work folder")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "wb") as dst:
                    while True:
                        chunk = src.read(1 << 20)
                        if not chunk:
                            break
                        budget -= len(chunk)
                        if budget < 0:
                            raise BatchError(f"{zip_path}: expands beyond {_size(limits.export_bytes)} (headers "
                                             "understate sizes); stopped.")
                        dst.write(chunk)
            except (zipfile.BadZipFile, OSError, NotImplementedError, EOFError) as e:
                notes.append(f"skipped export member {info.filename!r}: cannot be read ({e})")
                target.unlink(missing_ok=True)
    (tmp / ".complete").write_text(json.dumps(notes))
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest / "files", notes


# ---------------------------------------------------------------------------
# discovery

_CANVAS = re.compile(r"^(?P<login>[^_/]+?)(?P<late>_late)?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)$")
_MOODLE_DIR = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_$")
_MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.+)$")


def _walk(folder: Path) -> tuple[list[tuple[str, str]], list[str]]:
    files: list[tuple[str, str]] = []
    notes: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not _is_junk(d))
        for fn in sorted(filenames):
            if _is_junk(fn):
                continue
            full = Path(dirpath) / fn
            rel = full.relative_to(folder).as_posix()
            if full.is_symlink() or not full.is_file():
                notes.append(f"{folder.name}/{rel}: skipped (a link or not a regular file)")
                continue
            files.append((rel, str(full)))
    return files, notes


def _gradescope_metadata(text: str) -> dict[str, list[dict[str, str]]]:
    """Submitters per submission folder from Gradescope's ``submission_metadata.yml`` (Ruby-style YAML).

    Only ``:name:``, ``:sid:`` and ``:email:`` of ``:submitters:`` are read, line by line
    (no YAML library, no object tags followed).
    """
    out: dict[str, list[dict[str, str]]] = {}
    current: list[dict[str, str]] | None = None
    in_submitters = False
    sub_indent = -1
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        top = re.match(r"^(['\"]?)([^\s:'\"][^:]*?)\1:\s*$", line)
        if indent == 0 and top:
            current = out.setdefault(top.group(2).strip(), [])
            in_submitters = False
            continue
        if current is None:
            current = out.setdefault("", [])
        s = line.strip()
        if re.match(r"^:?submitters:?\s*$", s.lstrip("- ")):
            in_submitters = True
            sub_indent = indent
            continue
        if in_submitters and indent <= sub_indent and not s.startswith("-"):
            in_submitters = False
        if not in_submitters:
            continue
        m = re.match(r"^(-\s+)?:?(name|sid|email):?\s*(.*)$", s)
        if not m:
            if s.startswith("-"):
                current.append({})
            continue
        if m.group(1) or not current:
            current.append({})
        value = m.group(3).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        current[-1][m.group(2)] = value
    return out


def spec_ids(reference_dir: str | os.PathLike) -> tuple[str, ...]:
    """Assignment ids of ``reference_dir/specs/*.py`` (file names only; nothing is imported).

    Raises:
        BatchError: there is no ``specs/`` folder.
    """
    specs = Path(reference_dir) / "specs"
    if not specs.is_dir():
        raise BatchError(f"no assignment specs found: {specs} does not exist. Pass --reference DIR or set "
                         "GRADE_REFERENCE to a folder holding <id>.py references and specs/<id>.py specs.")
    def position(path: Path) -> float:
        m = re.search(r"^\s*position\s*=\s*([0-9.]+)", path.read_text(errors="replace"), re.M)
        return float(m.group(1)) if m else 1000.0

    files = [p for p in specs.glob("*.py") if p.stem.isidentifier() and not p.stem.startswith("_")]
    return tuple(p.stem for p in sorted(files, key=lambda p: (position(p), p.stem)))


def discover(submissions: str | os.PathLike, *, work_dir: str | os.PathLike,
             limits: Limits = Limits(), exclude: tuple[str | os.PathLike, ...] = ()) -> Discovery:
    """Find the entries of ``submissions`` and give each a student id.

    Args:
        submissions: a folder of entries, or an LMS export ``.zip`` (extracted under ``work_dir``).
        work_dir: where an export zip is extracted (reused on a rerun).
        limits: caps on the export zip.
        exclude: folders that are never entries (the output folder, when it lies inside SUBMISSIONS).

    Returns:
        A :class:`Discovery`, entries sorted by id.

    Raises:
        BatchError: ``submissions`` does not exist, is not a folder or zip, or the export zip is unusable.
    """
    src = Path(submissions)
    notes: list[str] = []
    if not src.exists():
        raise BatchError(f"{submissions}: no such folder or file. Pass a folder holding one entry per student "
                         "(folder, .py, .ipynb or .zip) or an LMS export .zip.")
    if src.is_file():
        if src.suffix.lower() != ".zip":
            raise BatchError(f"{submissions}: expected a folder of submissions or an LMS export .zip, got a "
                             f"{src.suffix or 'plain'} file. To grade one submission use `grade check {src}`.")
        digest = _file_sha(src)[:16]
        root, extract_notes = _extract_export(src, Path(work_dir) / f"export-{digest}", limits=limits)
        notes.extend(extract_notes)
        # An export packaged with one top folder (Gradescope) is read from that folder.
        while True:
            children = [c for c in root.iterdir() if not _is_junk(c.name)]
            if len(children) == 1 and children[0].is_dir() and not any(
                    c.suffix in _CODE_SUFFIXES for c in children[0].iterdir() if c.is_file()):
                root = children[0]
                continue
            break
    elif not src.is_dir():
        raise BatchError(f"{submissions}: not a folder or a zip file.")
    else:
        root = src
    skip = {os.path.realpath(x) for x in (*exclude, work_dir)}
    children = sorted((c for c in root.iterdir() if not _is_junk(c.name) and os.path.realpath(c) not in skip),
                      key=lambda c: c.name)
    raw: list[Entry] = []
    source = "plain"
    if (root / "submission_metadata.yml").is_file():
        source = "gradescope"
        raw, more = _gradescope_entries(root, children)
        notes.extend(more)
    else:
        canvas: dict[tuple[str, str], list[tuple[Path, re.Match]]] = {}
        moodle: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for c in children:
            if c.is_symlink():
                notes.append(f"{c.name}: skipped (a symbolic link)")
                continue
            m = _MOODLE_DIR.match(c.name) if c.is_dir() else None
            if m:
                files, more = _walk(c)
                notes.extend(more)
                moodle.setdefault((m.group("name"), m.group("id")), []).extend(files)
                continue
            if c.is_file():
                m = _MOODLE_FILE.match(c.name)
                if m:
                    moodle.setdefault((m.group("name"), m.group("id")), []).append((m.group("file"), str(c)))
                    continue
                m = _CANVAS.match(c.name)
                if m:
                    canvas.setdefault((m.group("login"), m.group("uid")), []).append((c, m))
                    continue
            raw.append(_plain_entry(c, notes))
        for (login, uid), items in sorted(canvas.items()):
            files_by_name: dict[str, tuple[int, str]] = {}
            late = False
            for path, m in items:
                late = late or bool(m.group("late"))
                fname = m.group("file")
                sid = int(m.group("sid"))
                if fname in files_by_name and files_by_name[fname][0] > sid:
                    notes.append(f"{path.name}: skipped, a later upload of {fname} by {login} is kept")
                    continue
                files_by_name[fname] = (sid, str(path))
            raw.append(Entry(id=_sanitize_id(f"{login}_{uid}"), name=f"{login}_{uid}", kind="files",
                             source="canvas", files=tuple(sorted((k, v[1]) for k, v in files_by_name.items())),
                             student_name=login, lms_id=uid, late=late))
        for (name, mid), files in sorted(moodle.items()):
            raw.append(Entry(id=_sanitize_id(f"{_slug(name) or 'student'}_{mid}"), name=f"{name}_{mid}",
                             kind="files", source="moodle", files=tuple(sorted(files)), student_name=name,
                             lms_id=mid))
        if canvas and not moodle:
            source = "canvas"
        elif moodle and not canvas:
            source = "moodle"
        elif canvas and moodle:
            source = "mixed"
    entries, duplicates = _dedupe(raw)
    return Discovery(root=str(root), source=source, entries=tuple(entries), duplicates=tuple(duplicates),
                     notes=tuple(notes))


def _plain_entry(c: Path, notes: list[str]) -> Entry:
    eid = _plain_id(c.name)
    if c.is_dir():
        files, more = _walk(c)
        notes.extend(more)
        err = "" if files else (f"{c.name}/: empty folder (no files). Expected the student's <assignment>.py "
                                "modules, one .py or one .ipynb.")
        return Entry(id=eid, name=c.name + "/", kind="folder", files=tuple(files), error=err)
    suffix = c.suffix.lower()
    kind = {".py": "py", ".ipynb": "ipynb", ".zip": "zip"}.get(suffix, "other")
    err = "" if kind != "other" else (f"{c.name}: not a submission this grader reads (expected a folder, a .py, a "
                                      ".ipynb or a .zip).")
    return Entry(id=eid, name=c.name, kind=kind, files=((c.name, str(c)),), error=err)


def _gradescope_entries(root: Path, children: list[Path]) -> tuple[list[Entry], list[str]]:
    notes: list[str] = []
    try:
        meta = _gradescope_metadata((root / "submission_metadata.yml").read_text(encoding="utf-8", errors="replace"))
    except OSError as e:
        meta = {}
        notes.append(f"submission_metadata.yml: cannot be read ({e}); ids are the folder names")
    entries = []
    for c in children:
        if c.name == "submission_metadata.yml":
            continue
        if not c.is_dir():
            entries.append(_plain_entry(c, notes))
            continue
        submitters = meta.get(c.name) or []
        own = c / "submission_metadata.yml"
        if not submitters and own.is_file():
            sub_meta = _gradescope_metadata(own.read_text(encoding="utf-8", errors="replace"))
            submitters = next((v for v in sub_meta.values() if v), [])
        ids = []
        for s in submitters:
            sid = s.get("sid") or (s.get("email", "").split("@")[0])
            if sid:
                ids.append(_sanitize_id(sid))
        eid = "+".join(ids) if ids else _sanitize_id(c.name)
        files, more = _walk(c)
        files = [f for f in files if f[0] != "submission_metadata.yml"]
        notes.extend(more)
        err = "" if files else f"{c.name}/: empty submission folder (no files)."
        entries.append(Entry(id=eid, name=c.name + "/", kind="folder", source="gradescope", files=tuple(files),
                             student_name="; ".join(s.get("name", "") for s in submitters if s.get("name")),
                             lms_id=c.name, error=err))
    return entries, notes


def _dedupe(raw: list[Entry]) -> tuple[list[Entry], list[tuple[str, tuple[str, ...]]]]:
    by_id: dict[str, list[Entry]] = {}
    for e in sorted(raw, key=lambda e: (e.id.lower(), e.name)):
        by_id.setdefault(e.id.lower(), []).append(e)
    out: list[Entry] = []
    dups: list[tuple[str, tuple[str, ...]]] = []
    taken = {k for k in by_id}
    for key, group in by_id.items():
        first = group[0]
        out.append(first)
        if len(group) > 1:
            dups.append((first.id, tuple(e.name for e in group)))
            n = 2
            for e in group[1:]:
                while f"{first.id}__{n}".lower() in taken:
                    n += 1
                new_id = f"{first.id}__{n}"
                taken.add(new_id.lower())
                out.append(dataclasses.replace(e, id=new_id, duplicate_of=first.id))
    out.sort(key=lambda e: e.id.lower())
    return out, dups


# ---------------------------------------------------------------------------
# reading entries, hashing


def read_entry(entry: Entry, *, limits: Limits = Limits()) -> dict[str, bytes]:
    """The entry's files as ``{relative path: bytes}`` (a zip is returned as-is, unpacked later).

    Raises:
        EntryError: the entry has a discovery error, is too large, or a file cannot be read.
    """
    if entry.error:
        raise EntryError(entry.error)
    if len(entry.files) > limits.entry_files:
        raise EntryError(f"{entry.name}: {len(entry.files)} files; at most {limits.entry_files} are accepted per "
                         "submission.")
    out: dict[str, bytes] = {}
    total = 0
    for rel, path in entry.files:
        try:
            size = os.path.getsize(path)
            total += size
            if total > limits.entry_bytes:
                raise EntryError(f"{entry.name}: more than {_size(limits.entry_bytes)} of files; a submission of "
                                 "source code should be far smaller. Remove data files and resubmit.")
            with open(path, "rb") as f:
                data = f.read(limits.entry_bytes + 1)
        except OSError as e:
            raise EntryError(f"{entry.name}: {rel} cannot be read ({e.strerror or e}).") from None
        out[rel] = data
    return out


def entry_content_hash(files: dict[str, bytes]) -> str:
    """sha256 over the sorted (relative path, content) pairs of an entry."""
    h = hashlib.sha256()
    for rel in sorted(files):
        data = files[rel]
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + str(len(data)).encode() + b"\0")
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()


def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _tree_hash(root: Path, *, suffixes: tuple[str, ...] | None = None,
               skip: Callable[[str], bool] = lambda rel: False) -> str:
    h = hashlib.sha256()
    if not root.is_dir():
        return h.hexdigest()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            if fn.endswith(".pyc") or (suffixes and not fn.endswith(suffixes)):
                continue
            full = Path(dirpath) / fn
            rel = full.relative_to(root).as_posix()
            if skip(rel):
                continue
            h.update(rel.encode() + b"\0")
            try:
                h.update(full.read_bytes())
            except OSError:
                h.update(b"<unreadable>")
            h.update(b"\0")
    return h.hexdigest()


def _torch_version() -> str:
    try:
        from importlib.metadata import version

        return version("torch")
    except Exception:  # pragma: no cover
        return "unknown"


_GRADING_CODE_SKIP = re.compile(r"^(report/|templates/|cli/)")


def batch_fingerprint(*, reference_dir: str | os.PathLike, assignments: tuple[str, ...], device: str,
                      time_scale: float, submission_seconds: float) -> str:
    """Everything besides the entry that changes a grade, hashed: grader version and grading sources,
    the reference and spec files (hidden salt included), the torch version and the options."""
    from grader import __version__

    h = hashlib.sha256()
    grader_dir = Path(__file__).resolve().parent.parent  # the grader package
    parts = [
        f"cache-format {CACHE_FORMAT}",
        f"grade {__version__}",
        "grader-sources " + _tree_hash(grader_dir, suffixes=(".py",), skip=lambda r: bool(_GRADING_CODE_SKIP.match(r))),
        "reference " + _tree_hash(Path(reference_dir).resolve()),
        "salt " + hashlib.sha256(os.environ.get("GRADE_HIDDEN_SALT", "").encode()).hexdigest(),
        f"torch {_torch_version()}",
        f"assignments {','.join(assignments)}",
        f"device {device}",
        f"time_scale {time_scale!r}",
        f"submission_seconds {submission_seconds!r}",
    ]
    for p in parts:
        h.update(p.encode() + b"\n")
    return h.hexdigest()


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


# ---------------------------------------------------------------------------
# the per-entry task (runs in a worker process)


@dataclass
class _WorkerState:
    worker: Any
    catalog: Any
    reference_hash: str
    devices: dict = field(default_factory=dict)


_STATE_LOCK = threading.Lock()
_STATES: dict[str, _WorkerState] = {}


def _state(reference_dir: str, *, start: str = "auto") -> _WorkerState:
    """This process's grading Worker and catalog for ``reference_dir`` (created on first use).

    The Worker is started before the catalog is loaded, so that with ``start="auto"``
    it is forked from a process that holds no reference code (fast); once reference
    code is loaded (a second catalog, or a Dask worker that ran other code), it is spawned.
    """
    key = str(Path(reference_dir).resolve())
    with _STATE_LOCK:
        st = _STATES.get(key)
        if st is not None and st.worker.alive:
            return st
        from grader.sandbox.worker import Worker

        worker = Worker(start=start, secret_roots=(key,)).start()
        if st is not None:
            try:
                st.worker.close()
            except Exception:  # pragma: no cover
                pass
            st = _WorkerState(worker=worker, catalog=st.catalog, reference_hash=st.reference_hash,
                              devices=st.devices)
        else:
            from grader.catalog.project import load_catalog

            catalog = load_catalog(key)
            st = _WorkerState(worker=worker, catalog=catalog, reference_hash=_tree_hash(Path(key)))
        _STATES[key] = st
        return st


def close_states() -> None:
    """Stop every Worker this process started for batch tasks."""
    with _STATE_LOCK:
        for st in _STATES.values():
            try:
                st.worker.close()
            except Exception:  # pragma: no cover
                pass
        _STATES.clear()


def _strip_common_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    while files and all("/" in k for k in files):
        tops = {k.split("/", 1)[0] for k in files}
        if len(tops) != 1:
            break
        files = {k.split("/", 1)[1]: v for k, v in files.items()}
    return files


def _normalize(files: dict[str, bytes], ids: tuple[str, ...], *, name: str, limits: Limits) -> dict[str, bytes]:
    """Unpack zips (one level), drop junk, strip one shared top folder, undo Canvas's ``-1`` re-upload suffix."""
    out: dict[str, bytes] = {}
    for rel, data in files.items():
        if rel.lower().endswith(".zip"):
            inner = read_zip(data, name=f"{name}: {rel}" if rel != name else name, limits=limits)
            base = rel.rsplit("/", 1)[0] + "/" if "/" in rel else ""
            for k, v in inner.items():
                out[base + k] = v
            continue
        if any(_is_junk(p) for p in rel.split("/")):
            continue
        out[rel] = data
    out = _strip_common_folder(out)
    for rel in list(out):
        m = re.match(r"^(?P<stem>[A-Za-z_]\w*)-\d+(?P<ext>\.py|\.ipynb)$", rel)
        if m and m.group("stem") in ids and f"{m.group('stem')}{m.group('ext')}" not in out:
            out[f"{m.group('stem')}{m.group('ext')}"] = out.pop(rel)
    return out


def _layout(files: dict[str, bytes], ids: tuple[str, ...], *, name: str,
            selected: tuple[str, ...] = ()) -> str | None:
    """None for a folder of ``<assignment>`` modules, else the one code file to grade.

    Args:
        ids: every assignment id (a top-level ``<id>.py``/``<id>.ipynb`` makes a folder submission).
        selected: the ids being graded (named in messages).

    Raises:
        EntryError: no code, or several code files none of which is named after an assignment.
    """
    roots = [k for k in files if "/" not in k]
    if any(PurePosixPath(k).stem in ids and PurePosixPath(k).suffix in _CODE_SUFFIXES for k in roots):
        return None
    code = sorted(k for k in roots if PurePosixPath(k).suffix in _CODE_SUFFIXES and k != "__init__.py")
    if len(code) == 1:
        return code[0]
    expected = ", ".join(f"{a}.py" for a in (selected or ids))
    if code:
        listed = ", ".join(code[:6]) + (" ..." if len(code) > 6 else "")
        raise EntryError(f"{name}: {len(code)} code files ({listed}) and none is named after an assignment. "
                         f"Name each file after its assignment ({expected}) or submit one file holding the "
                         "functions.")
    if not files:
        raise EntryError(f"{name}: no files (an empty folder or archive). Expected {expected}, one .py or one "
                         ".ipynb.")
    listed = ", ".join(sorted(files)[:6]) + (" ..." if len(files) > 6 else "")
    raise EntryError(f"{name}: no .py or .ipynb file at the top level (found {listed}). Expected {expected}, one "
                     ".py or one .ipynb.")


def _safe_write(root: Path, files: dict[str, bytes]) -> None:
    base = root.resolve()
    for rel, data in files.items():
        target = (base / safe_relpath(rel)).resolve()
        if not str(target).startswith(str(base) + os.sep):
            raise EntryError(f"unsafe path {rel!r}: it would leave the submission's folder.")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _replace_strings(obj: Any, old: str, new: str) -> Any:
    if isinstance(obj, str):
        return obj.replace(old, new)
    if isinstance(obj, list):
        return [_replace_strings(x, old, new) for x in obj]
    if isinstance(obj, dict):
        return {k: _replace_strings(v, old, new) for k, v in obj.items()}
    return obj


def error_result_doc(name: str, reason: str) -> dict:
    """The ``grade check --json`` document of an entry that could not be graded (status ``error``)."""
    import datetime as _dt

    from grader import __version__
    from grader.results import GradeResult

    result = GradeResult(submission=name, score=0.0, max_score=0.0, assignments=(), devices=(),
                         graded_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                         versions={"grade": __version__, "torch": _torch_version()}, problems=(reason,))
    return result.to_dict()


def _render(doc: dict, *, title: str) -> tuple[str, dict]:
    from grader.report.gradescope import to_gradescope
    from grader.report.html import render_html
    from grader.results import GradeResult

    result = GradeResult.from_dict(doc)
    return render_html(result, title=title), to_gradescope(result)


def _peak_rss_mb(pid: int | None = None) -> float:
    if pid is None:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _where() -> str:
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def grade_task(task: Task) -> Outcome:
    """Grade one entry; never raises (every failure becomes an ``error`` outcome).

    Runs in a batch worker process or a Dask worker.  Uses this process's Worker and
    catalog (:func:`_state`); the entry's files are unpacked in memory, written under
    ``work_root/<id>`` and removed afterwards.
    """
    t0 = time.monotonic()
    title = f"grade report: {task.id}"
    work: Path | None = None

    def done(doc: dict, *, error: str = "", cacheable: bool = True, html: str = "", gs: dict | None = None,
             st: _WorkerState | None = None) -> Outcome:
        if not html:
            try:
                html, gs = _render(doc, title=title)
            except Exception as e:  # pragma: no cover - defensive
                html, gs = f"<pre>report could not be rendered: {e}</pre>", {"score": 0.0, "tests": []}
        zpid = getattr(st.worker, "_pid", None) if st else None
        return Outcome(id=task.id, key=task.key, doc=doc, html=html, gradescope=gs or {}, error=error,
                       cacheable=cacheable, seconds=time.monotonic() - t0, worker=_where(), rss_mb=_peak_rss_mb(),
                       zygote_rss_mb=_peak_rss_mb(zpid) if zpid else 0.0)

    st = None
    try:
        st = _state(task.reference_dir, start=task.worker_start)
        if task.reference_hash and st.reference_hash != task.reference_hash:
            msg = (f"the reference folder {task.reference_dir} on worker {_where()} differs from the one the batch "
                   "was started with. Give every worker the same reference/ and specs/ files.")
            return done(error_result_doc(task.name, msg), error=msg, cacheable=False, st=st)
        from grader.judge.engine import Options, grade_submission, resolve_devices
        from grader.submission.load import SubmissionError, load_submission

        catalog = st.catalog
        if task.device not in st.devices:
            st.devices[task.device] = resolve_devices(task.device)
        devices = st.devices[task.device]
        try:
            files = _normalize(dict(task.files), catalog.ids, name=task.name, limits=task.limits)
            single = _layout(files, catalog.ids, name=task.name, selected=task.assignments)
            root = Path(task.work_root) if task.work_root else Path(_tempdir())
            root.mkdir(parents=True, exist_ok=True)
            # One folder per process: the orphaned worker of a killed run never races with a rerun.
            work = (root / f"{task.id}.{os.getpid()}").resolve()
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            _safe_write(work, files)
            path = work / single if single else work
            submission = load_submission(path, assignment_ids=catalog.ids)
            if single:
                mod = submission.modules["*"]
                graded = {f.name for a in catalog.assignments for f in a.functions}
                if not mod.syntax_error and not (graded & set(mod.names)):
                    wanted = [f.name for a in catalog.assignments if a.id in task.assignments for f in a.functions]
                    some = ", ".join(wanted[:8]) + (", ..." if len(wanted) > 8 else "")
                    raise EntryError(f"{single} defines none of the graded functions ({some}). Is it a file for "
                                     "another course or assignment? Submit the file that implements them.")
        except (EntryError, SubmissionError) as e:
            msg = str(e)
            if not msg.startswith(task.name.rstrip("/")):
                msg = f"{task.name}: {msg}"
            return done(error_result_doc(task.name, msg), error=msg, st=st)
        options = Options(devices=devices, time_scale=task.time_scale, submission_seconds=task.submission_seconds,
                          jobs=max(1, task.function_jobs))
        result = grade_submission(submission, catalog, assignments=task.assignments, worker=st.worker,
                                  options=options)
        doc = result.to_dict()
        doc = _replace_strings(doc, str(work) + os.sep, "")
        doc = _replace_strings(doc, str(work), ".")
        doc["submission"] = task.name
        html, gs = _render(doc, title=title)
        return done(doc, html=html, gs=gs, st=st)
    except Exception as e:
        tb = traceback.format_exc(limit=4)
        msg = (f"internal error while grading {task.name}: {type(e).__name__}: {e}. The entry was not graded; rerun "
               f"the batch to retry it, and report this if it persists.\n{tb}")
        return done(error_result_doc(task.name, msg), error=msg, cacheable=False, st=st)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def _tempdir() -> str:
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"grade-batch-{os.getuid()}")


# ---------------------------------------------------------------------------
# the local pool: spawned worker processes, one task at a time each


def _pool_worker_main(conn, reference_dir: str) -> None:  # pragma: no cover - runs in a child process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _state(reference_dir, start="auto")
    except BaseException as e:
        try:
            conn.send(("fatal", f"{type(e).__name__}: {e}"))
        finally:
            return
    conn.send(("ready", os.getpid()))
    try:
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                break
            if task is None:
                break
            out = grade_task(task)
            try:
                conn.send(("done", out))
            except (OSError, BrokenPipeError):
                break
    finally:
        close_states()


@dataclass
class _Slot:
    proc: Any
    conn: Any
    ready: bool = False
    task: Task | None = None
    started: float = 0.0


class _LocalPool:
    """``n`` spawned processes, each with its own sandbox Worker and catalog, one task at a time.

    A process that dies while grading gets its task retried once on a fresh process;
    one that exceeds the task timeout is killed and its entry gets an error outcome.
    """

    def __init__(self, n: int, *, reference_dir: str, task_timeout: float) -> None:
        import multiprocessing

        self.ctx = multiprocessing.get_context("spawn")
        self.n = n
        self.reference_dir = reference_dir
        self.task_timeout = task_timeout
        self.slots: list[_Slot] = []
        self.restarts = 0

    def _spawn(self) -> _Slot:
        parent, child = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(target=_pool_worker_main, args=(child, self.reference_dir), daemon=True,
                                name="grade-batch-worker")
        proc.start()
        child.close()
        return _Slot(proc=proc, conn=parent)

    def _kill(self, slot: _Slot) -> None:
        try:
            slot.conn.close()
        except OSError:
            pass
        if slot.proc.is_alive():
            slot.proc.kill()
        slot.proc.join(timeout=10)

    def run(self, tasks: list[Task], on_outcome: Callable[[Outcome], None]) -> None:
        from multiprocessing.connection import wait

        pending = deque(tasks)
        attempts: Counter = Counter()
        self.slots = [self._spawn() for _ in range(min(self.n, max(1, len(tasks))))]
        try:
            while pending or any(s.task is not None for s in self.slots):
                now = time.monotonic()
                for s in self.slots:
                    if s.ready and s.task is None and pending:
                        t = pending.popleft()
                        s.conn.send(t)
                        s.task, s.started = t, time.monotonic()
                objs = [s.conn for s in self.slots] + [s.proc.sentinel for s in self.slots]
                ready = wait(objs, timeout=1.0)
                for i, s in enumerate(list(self.slots)):
                    dead = False
                    if s.conn in ready:
                        try:
                            msg = s.conn.recv()
                        except (EOFError, OSError):
                            msg, dead = None, True
                        if msg is not None:
                            kind, payload = msg
                            if kind == "ready":
                                s.ready = True
                            elif kind == "done":
                                s.task = None
                                on_outcome(payload)
                            elif kind == "fatal":
                                raise BatchError(f"a grading worker could not start: {payload}")
                    if not dead and s.proc.sentinel in ready and not s.proc.is_alive():
                        dead = True
                    if dead:
                        s.proc.join(timeout=5)
                        code = s.proc.exitcode
                        self._kill(s)
                        task = s.task
                        if task is not None:
                            attempts[task.id] += 1
                            if attempts[task.id] < 2:
                                pending.appendleft(task)
                            else:
                                on_outcome(_failed_outcome(task, f"the grading worker process died twice while "
                                                                 f"grading this entry (exit code {code})."))
                        elif not s.ready:
                            raise BatchError(f"a grading worker exited while starting (exit code {code}).")
                        self.restarts += 1
                        if self.restarts > 3 * self.n + len(tasks):
                            raise BatchError("grading workers keep dying; stopping. Check memory and the logs.")
                        self.slots[i] = self._spawn()
                        continue
                    if s.task is not None and now - s.started > self.task_timeout:
                        task = s.task
                        self._kill(s)
                        on_outcome(_failed_outcome(task, f"grading did not finish within {self.task_timeout:.0f} s; "
                                                         "the worker was stopped. Rerun with a larger --time-scale "
                                                         "if the machine was overloaded."))
                        self.restarts += 1
                        self.slots[i] = self._spawn()
        except BaseException:
            for s in self.slots:  # Ctrl-C or a fatal error: stop at once, do not wait for running tasks
                self._kill(s)
            self.slots = []
            raise
        finally:
            self.close()

    def close(self) -> None:
        for s in self.slots:
            try:
                s.conn.send(None)
            except (OSError, BrokenPipeError, ValueError):
                pass
        deadline = time.monotonic() + 10
        for s in self.slots:
            s.proc.join(timeout=max(0.1, deadline - time.monotonic()))
            if s.proc.is_alive():
                s.proc.kill()
                s.proc.join(timeout=5)
            try:
                s.conn.close()
            except OSError:
                pass
        self.slots = []


def _failed_outcome(task: Task, reason: str) -> Outcome:
    msg = f"{task.name}: {reason}"
    doc = error_result_doc(task.name, msg)
    try:
        html, gs = _render(doc, title=f"grade report: {task.id}")
    except Exception:  # pragma: no cover
        html, gs = "", {}
    return Outcome(id=task.id, key=task.key, doc=doc, html=html, gradescope=gs, error=msg, cacheable=False)


def _run_dask(address: str, tasks: list[Task], on_outcome: Callable[[Outcome], None], *,
              task_timeout: float) -> None:
    """Run ``tasks`` on the Dask cluster at ``address``; every task gets exactly one outcome.

    A task that raises (or whose worker died twice: Dask retries once) gets an error outcome.
    If no task finishes for ``task_timeout`` seconds, the remaining ones are cancelled and get
    error outcomes (a cluster without live workers never hangs the batch).
    """
    try:
        from distributed import Client, wait
    except ImportError:
        raise BatchError("--scheduler needs dask.distributed: pip install \"grade[dask]\" (or "
                         "pip install \"dask[distributed]\") on this machine and on every worker.") from None
    try:
        client = Client(address, timeout="30s")
    except Exception as e:
        raise BatchError(f"cannot connect to the Dask scheduler at {address}: {e}. Start one with "
                         "`dask scheduler` and workers with `dask worker ADDRESS`.") from None
    try:
        try:
            client.wait_for_workers(1, timeout=120)
        except Exception:
            raise BatchError(f"no Dask worker joined the scheduler at {address} within 120 s. Start workers with "
                             f"`dask worker {address} --nthreads 1`.") from None
        by_key = {}
        for t in tasks:
            t = dataclasses.replace(t, work_root="", worker_start="spawn")
            fut = client.submit(grade_task, t, key=f"grade-{t.id}-{t.key[:12]}", pure=False, retries=1)
            by_key[fut.key] = (fut, t)
        pending = {fut for fut, _ in by_key.values()}
        last = time.monotonic()
        while pending:
            try:
                done, _ = wait(list(pending), timeout=2.0, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            now = time.monotonic()
            for fut in done:
                pending.discard(fut)
                task = by_key[fut.key][1]
                try:
                    out = fut.result()
                except Exception as e:
                    out = _failed_outcome(task, f"the Dask task failed: {type(e).__name__}: {e}")
                on_outcome(out)
                last = now
            if pending and now - last > task_timeout:
                for fut in list(pending):
                    fut.cancel()
                    on_outcome(_failed_outcome(by_key[fut.key][1], f"no result from the Dask cluster for "
                                                                   f"{task_timeout:.0f} s; are its workers alive?"))
                pending.clear()
    finally:
        client.close()


# ---------------------------------------------------------------------------
# outputs


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    s = f"{float(x):.4f}".rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


def gradebook_rows(entries: Iterable[Entry], docs: dict[str, dict], errors: dict[str, str],
                   assignments: tuple[str, ...], duplicates: Iterable[tuple[str, tuple[str, ...]]] = ()) -> list[Row]:
    """One :class:`Row` per entry (sorted by id), from the entries' result documents."""
    dup_names = {i: names for i, names in duplicates}
    rows = []
    for e in entries:
        doc = docs.get(e.id) or {}
        err = errors.get(e.id, "")
        reasons = []
        if e.duplicate_of or e.id in dup_names:
            base = e.duplicate_of or e.id
            reasons.append(f"duplicate id {base}: entries {', '.join(dup_names.get(base, ()))}")
        if err or doc.get("status") == "error":
            reason = err or "; ".join(doc.get("problems", [])) or "not graded"
            reasons.insert(0, reason.splitlines()[0] if reason else reason)
            rows.append(Row(id=e.id, name=e.student_name, lms_id=e.lms_id, entry=e.name, late=e.late,
                            scores=tuple((a, None) for a in assignments), total=None, max_total=None,
                            status="error", reason=" | ".join(reasons)))
            continue
        by_id = {a["id"]: a for a in doc.get("assignments", [])}
        scores = tuple((a, by_id[a]["score"] if a in by_id else None) for a in assignments)
        rows.append(Row(id=e.id, name=e.student_name, lms_id=e.lms_id, entry=e.name, late=e.late, scores=scores,
                        total=doc.get("score"), max_total=doc.get("max_score"), status=doc.get("status", ""),
                        reason=" | ".join(reasons)))
    rows.sort(key=lambda r: r.id.lower())
    return rows


def _gradebook_text(rows: list[Row], assignments: tuple[str, ...]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "name", "lms_id", "entry", "late", *assignments, "total", "max_total", "status", "reason"])
    for r in rows:
        w.writerow([r.id, r.name, r.lms_id, r.entry, "yes" if r.late else "", *(_fmt(s) for _, s in r.scores),
                    _fmt(r.total), _fmt(r.max_total), r.status, r.reason])
    return buf.getvalue()


def write_gradebook(path: str | os.PathLike, rows: list[Row], assignments: tuple[str, ...]) -> Path:
    """Write ``gradebook.csv`` atomically: ``id, name, lms_id, entry, late, <assignment>..., total,
    max_total, status, reason``; scores are points, blank when the entry could not be graded."""
    from grader.report.jsonio import atomic_write_text

    return atomic_write_text(path, _gradebook_text(rows, assignments))


def read_gradebook(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a ``gradebook.csv`` as dicts (header names as keys)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _doc_text(doc: dict) -> str:
    return json.dumps(doc, indent=2, allow_nan=False, default=str) + "\n"


def _write_outputs(out: Path, oid: str, doc: dict, html: str, gs: dict) -> None:
    from grader.report.jsonio import atomic_write_text

    atomic_write_text(out / f"{oid}.html", html)
    atomic_write_text(out / f"{oid}.results.json", json.dumps(gs, indent=2, allow_nan=False, default=str) + "\n")
    atomic_write_text(out / f"{oid}.json", _doc_text(doc))


def _clean_temp_files(folder: Path) -> None:
    """Remove temp files left by an atomic write that was killed midway."""
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if p.is_file() and re.match(r"^\..+\.(json|html|csv)\.[A-Za-z0-9_]{6,}$", p.name):
            p.unlink(missing_ok=True)


# ---------------------------------------------------------------------------
# the run


def default_jobs() -> int:
    """The CPU cores this process may use (the default of ``-j``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


ProgressFn = Callable[[int, int, str], None]


def run_batch(submissions: str | os.PathLike, *, out_dir: str | os.PathLike, options: BatchOptions = BatchOptions(),
              progress: ProgressFn | None = None, on_start: Callable[[Discovery, int, int], None] | None = None
              ) -> BatchSummary:
    """Grade every entry of ``submissions`` into ``out_dir``.

    Writes, in ``out_dir``: per entry ``<id>.json`` (the ``grade check --json`` schema),
    ``<id>.html`` and ``<id>.results.json`` (Gradescope); ``gradebook.csv``; ``class_report.html``;
    the cache ``.grade-cache/`` and the work folder ``.grade-work/``.

    Args:
        submissions: a folder of entries or an LMS export ``.zip`` (see the module docstring).
        out_dir: output folder (created).
        options: see :class:`BatchOptions`.
        progress: called as ``progress(done, total, id)`` after each entry (cached ones included).
        on_start: called once with (discovery, entries taken from the cache, entries to grade) before
            grading starts (entries that cannot be read are neither).

    Returns:
        A :class:`BatchSummary`.

    Raises:
        BatchError: SUBMISSIONS unusable, unknown assignment id, no specs, CUDA requested but
            absent, a worker that cannot start (broken specs), or the Dask scheduler unreachable.
    """
    t0 = time.monotonic()
    from grader.catalog.project import default_reference_dir

    ref = Path(options.reference_dir) if options.reference_dir else default_reference_dir()
    ref = ref.resolve()
    known = spec_ids(ref)
    if not known:
        raise BatchError(f"{ref / 'specs'} holds no specs (<id>.py files).")
    for a in options.assignments:
        if a not in known:
            raise BatchError(f"unknown assignment {a!r}; known: {', '.join(known)}")
    if options.device not in ("auto", "cpu", "cuda"):
        raise BatchError(f"unknown device {options.device!r}: use auto, cpu or cuda")
    if options.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise BatchError("--device cuda was requested but CUDA is not available on this machine. "
                             "Use --device auto or cpu.")
    selected = tuple(a for a in known if a in options.assignments) if options.assignments else known
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache = out / CACHE_DIR
    cache.mkdir(exist_ok=True)
    work = out / WORK_DIR
    work.mkdir(exist_ok=True)
    _clean_temp_files(out)
    _clean_temp_files(cache)

    disc = discover(submissions, work_dir=work, limits=options.limits, exclude=(out,))
    fp = batch_fingerprint(reference_dir=ref, assignments=selected, device=options.device,
                           time_scale=options.time_scale, submission_seconds=options.submission_seconds)
    ref_hash = _tree_hash(ref)

    docs: dict[str, dict] = {}
    errors: dict[str, str] = {}
    summaries: dict[str, dict] = {}
    tasks: list[Task] = []
    cached = 0
    outcomes: list[Outcome] = []
    workers: dict[str, tuple[float, float]] = {}
    done_count = 0
    total = len(disc.entries)
    entry_by_id = {e.id: e for e in disc.entries}

    def record(oid: str, doc: dict, error: str) -> None:
        from grader.report.classreport import summarize

        docs[oid] = {k: doc.get(k) for k in ("status", "score", "max_score", "problems")} | {
            "assignments": [{"id": a["id"], "score": a["score"]} for a in doc.get("assignments", [])]}
        if error:
            errors[oid] = error
        summaries[oid] = summarize(doc, id=oid, error=error)

    def tick(oid: str) -> None:
        nonlocal done_count
        done_count += 1
        if progress:
            progress(done_count, total, oid)

    for e in disc.entries:
        try:
            files = read_entry(e, limits=options.limits)
        except EntryError as exc:
            msg = str(exc)
            doc = error_result_doc(e.name, msg)
            html, gs = _render(doc, title=f"grade report: {e.id}")
            _write_outputs(out, e.id, doc, html, gs)
            record(e.id, doc, msg)
            continue
        key = hashlib.sha256(f"{fp}\n{e.id}\n{entry_content_hash(files)}".encode()).hexdigest()
        rec_path = cache / f"{key}.json"
        if not options.force and rec_path.is_file():
            try:
                rec = json.loads(rec_path.read_text(encoding="utf-8"))
                doc = rec["doc"]
                error = rec.get("error", "")
            except (OSError, ValueError, KeyError):
                rec = None
            if rec is not None:
                text = _doc_text(doc)
                target = out / f"{e.id}.json"
                fresh = (target.is_file() and (out / f"{e.id}.html").is_file()
                         and (out / f"{e.id}.results.json").is_file() and target.read_text(encoding="utf-8") == text)
                if not fresh:
                    html, gs = _render(doc, title=f"grade report: {e.id}")
                    _write_outputs(out, e.id, doc, html, gs)
                record(e.id, doc, error)
                cached += 1
                continue
        tasks.append(Task(id=e.id, name=e.name, key=key, files=tuple(sorted(files.items())), assignments=selected,
                          device=options.device, time_scale=options.time_scale,
                          submission_seconds=options.submission_seconds, function_jobs=options.function_jobs,
                          reference_dir=str(ref), reference_hash=ref_hash, work_root=str(work / "entries"),
                          limits=options.limits))

    if on_start:
        on_start(disc, cached, len(tasks))
    done_count = total - len(tasks)
    if progress:
        progress(done_count, total, "")

    from grader.report.jsonio import atomic_write_text

    def on_outcome(o: Outcome) -> None:
        e = entry_by_id[o.id]
        _write_outputs(out, o.id, o.doc, o.html, o.gradescope)
        if o.cacheable:
            rec = {"format": CACHE_FORMAT, "key": o.key, "id": o.id, "entry": e.name, "error": o.error, "doc": o.doc}
            atomic_write_text(cache / f"{o.key}.json", json.dumps(rec, allow_nan=False, default=str))
        record(o.id, o.doc, o.error)
        outcomes.append(dataclasses.replace(o, html="", gradescope={}, doc={}))
        if o.worker:
            prev = workers.get(o.worker, (0.0, 0.0))
            workers[o.worker] = (max(prev[0], o.rss_mb), max(prev[1], o.zygote_rss_mb))
        tick(o.id)

    task_timeout = options.submission_seconds * options.time_scale + options.task_grace_seconds
    if tasks:
        if options.scheduler:
            _run_dask(options.scheduler, tasks, on_outcome, task_timeout=task_timeout)
        else:
            jobs = options.jobs or default_jobs()
            _LocalPool(max(1, jobs), reference_dir=str(ref), task_timeout=task_timeout).run(tasks, on_outcome)
        shutil.rmtree(work / "entries", ignore_errors=True)

    rows = gradebook_rows(disc.entries, docs, errors, selected, disc.duplicates)
    gb = write_gradebook(out / GRADEBOOK, rows, selected)
    from grader.report.classreport import write_class_report

    cr = write_class_report(out / CLASS_REPORT, summaries=[summaries[e.id] for e in disc.entries if e.id in summaries],
                            rows=rows, assignments=selected, discovery=disc)
    n_err = sum(r.status == "error" for r in rows)
    return BatchSummary(out_dir=str(out), discovery=disc, rows=tuple(rows), graded=len(tasks), cached=cached,
                        errors=n_err, seconds=time.monotonic() - t0, gradebook=str(gb), class_report=str(cr),
                        assignments=selected, outcomes=tuple(outcomes), workers=workers)
