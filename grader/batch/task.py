"""Grade one task: the worker side of a batch (runs in a local pool process or a Dask worker).

:func:`grade_task` unpacks the entry's zips safely in memory, picks the layout, writes the files
into a private work folder, then :func:`grader.submission.load.load_submission` and
:func:`grader.judge.engine.grade_submission` with a :class:`grader.sandbox.worker.Worker` kept per
process (:func:`worker_state`).  Student code runs only in the Worker's forked children.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from grader.batch.archive import CODE_SUFFIXES, is_junk, read_zip, safe_write
from grader.batch.cache import tree_hash
from grader.batch.errors import EntryError
from grader.batch.lms import undo_reupload_suffix
from grader.batch.outputs import error_result_doc, render_reports, report_title
from grader.batch.records import ArchiveLimits, Outcome, Task

__all__ = ["grade_task", "failed_outcome", "worker_state", "close_states", "normalize_files", "pick_layout"]


@dataclass
class _WorkerState:
    """What a worker process keeps between tasks: its sandbox Worker, the catalog, the reference
    tree's hash, and the resolved devices per ``--device`` value."""

    worker: Any
    catalog: Any
    reference_hash: str
    devices: dict = field(default_factory=dict)


_STATE_LOCK = threading.Lock()
_STATES: dict[str, _WorkerState] = {}


def worker_state(reference_dir: str, *, start: str = "auto") -> _WorkerState:
    """This process's grading Worker and catalog for ``reference_dir`` (created on first use).

    The Worker is started before the catalog is loaded, so that with ``start="auto"``
    it is forked from a process that holds no reference code (fast); once reference
    code is loaded (a second catalog, or a Dask worker that ran other code), it is spawned.
    A Worker found dead is replaced (the catalog is kept).
    """
    key = str(Path(reference_dir).resolve())
    with _STATE_LOCK:
        st = _STATES.get(key)
        if st is not None and st.worker.alive:
            return st
        from grader.sandbox.worker import Worker

        worker = Worker(start=start, secret_roots=(key,), warm=True).start()
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
            st = _WorkerState(worker=worker, catalog=catalog, reference_hash=tree_hash(Path(key)))
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


def normalize_files(files: dict[str, bytes], ids: tuple[str, ...], *, name: str,
                    limits: ArchiveLimits) -> dict[str, bytes]:
    """Unpack zips (one level), drop junk, strip one shared top folder, undo Canvas's ``-1`` re-upload suffix.

    Args:
        files: ``{relative path: bytes}`` as read (:func:`grader.batch.discover.read_entry`).
        ids: every assignment id (for the re-upload suffix).
        name: the entry's name, for messages.
        limits: caps on the zips.

    Raises:
        EntryError: a zip is unreadable or unsafe (:func:`grader.batch.archive.read_zip`).
    """
    out: dict[str, bytes] = {}
    for rel, data in files.items():
        if rel.lower().endswith(".zip"):
            inner = read_zip(data, name=f"{name}: {rel}" if rel != name else name, limits=limits)
            base = rel.rsplit("/", 1)[0] + "/" if "/" in rel else ""
            for k, v in inner.items():
                out[base + k] = v
            continue
        if any(is_junk(p) for p in rel.split("/")):
            continue
        out[rel] = data
    return undo_reupload_suffix(_strip_common_folder(out), ids)


def pick_layout(files: dict[str, bytes], ids: tuple[str, ...], *, name: str,
                selected: tuple[str, ...] = ()) -> str | None:
    """None for a folder of ``<assignment>`` modules, else the one code file to grade.

    Args:
        ids: every assignment id (a top-level ``<id>.py``/``<id>.ipynb`` makes a folder submission).
        selected: the ids being graded (named in messages).

    Raises:
        EntryError: no code, or several code files none of which is named after an assignment.
    """
    roots = [k for k in files if "/" not in k]
    if any(PurePosixPath(k).stem in ids and PurePosixPath(k).suffix in CODE_SUFFIXES for k in roots):
        return None
    code = sorted(k for k in roots if PurePosixPath(k).suffix in CODE_SUFFIXES and k != "__init__.py")
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


def _replace_strings(obj: Any, old: str, new: str) -> Any:
    if isinstance(obj, str):
        return obj.replace(old, new)
    if isinstance(obj, list):
        return [_replace_strings(x, old, new) for x in obj]
    if isinstance(obj, dict):
        return {k: _replace_strings(v, old, new) for k, v in obj.items()}
    return obj


def _peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory (MiB) of this process, or of process ``pid`` (0.0 when unknown)."""
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


def _tempdir() -> str:
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"grade-batch-{os.getuid()}")


def grade_task(task: Task) -> Outcome:
    """Grade one entry; never raises (every failure becomes an ``error`` outcome).

    Runs in a batch worker process or a Dask worker.  Uses this process's Worker and
    catalog (:func:`worker_state`); the entry's files are unpacked in memory, written under
    ``work_root/<id>.<pid>`` and removed afterwards.  Paths of the work folder are removed
    from the result document (it names files relative to the submission).
    """
    t0 = time.monotonic()
    title = report_title(task.id)
    work: Path | None = None

    def done(doc: dict, *, error: str = "", cacheable: bool = True, html: str = "", gs: dict | None = None,
             st: _WorkerState | None = None) -> Outcome:
        if not html:
            try:
                html, gs = render_reports(doc, title=title)
            except Exception as e:  # pragma: no cover - defensive
                html, gs = f"<pre>report could not be rendered: {e}</pre>", {"score": 0.0, "tests": []}
        zpid = getattr(st.worker, "_pid", None) if st else None
        return Outcome(id=task.id, key=task.key, doc=doc, html=html, gradescope=gs or {}, error=error,
                       cacheable=cacheable, seconds=time.monotonic() - t0, worker=_where(), rss_mb=_peak_rss_mb(),
                       zygote_rss_mb=_peak_rss_mb(zpid) if zpid else 0.0)

    st = None
    try:
        st = worker_state(task.reference_dir, start=task.worker_start)
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
            files = normalize_files(dict(task.files), catalog.ids, name=task.name, limits=task.limits)
            single = pick_layout(files, catalog.ids, name=task.name, selected=task.assignments)
            root = Path(task.work_root) if task.work_root else Path(_tempdir())
            root.mkdir(parents=True, exist_ok=True)
            # One folder per process: the orphaned worker of a killed run never races with a rerun.
            work = (root / f"{task.id}.{os.getpid()}").resolve()
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            safe_write(work, files)
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
        html, gs = render_reports(doc, title=title)
        return done(doc, html=html, gs=gs, st=st)
    except Exception as e:
        tb = traceback.format_exc(limit=4)
        msg = (f"internal error while grading {task.name}: {type(e).__name__}: {e}. The entry was not graded; rerun "
               f"the batch to retry it, and report this if it persists.\n{tb}")
        return done(error_result_doc(task.name, msg), error=msg, cacheable=False, st=st)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def failed_outcome(task: Task, reason: str) -> Outcome:
    """The (not cacheable) error outcome of a task that produced none: its worker died, hung, or the
    cluster lost it.  ``reason`` says what happened and what to do; the entry's name is prefixed."""
    msg = f"{task.name}: {reason}"
    doc = error_result_doc(task.name, msg)
    try:
        html, gs = render_reports(doc, title=report_title(task.id))
    except Exception:  # pragma: no cover
        html, gs = "", {}
    return Outcome(id=task.id, key=task.key, doc=doc, html=html, gradescope=gs, error=msg, cacheable=False)
