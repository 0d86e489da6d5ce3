"""The Python API: the same work as the CLI, as plain functions.

Example::

    from grader.api import check
    result = check("assignments", assignments=("my_assignment",), device="cpu")
    print(result.score, result.max_score)
    for case in result.assignment("my_assignment").cases:
        if not case.passed:
            print(case.function, case.id, case.dtype, case.message)
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime as _dt
import os
import re
from pathlib import Path

from grader.judge.engine import Options, grade_submission, resolve_devices
from grader.catalog.project import Catalog, default_reference_dir, load_catalog
from grader.submission.load import SubmissionError, load_submission
from grader.results import GradeResult
from grader.sandbox.worker import Worker
from grader.spec import SpecError

__all__ = ["check", "batch", "list_assignments", "lint_spec", "load_any_catalog", "get_worker", "close_worker",
           "default_html_path", "SpecError", "SubmissionError", "Options"]

_WORKER: Worker | None = None


def get_worker(*, reference_dir: str | os.PathLike | None = None) -> Worker:
    """The process-wide grading worker, started on first use and reused.

    Started by forking this process when no reference code is loaded yet
    (fast), else by spawning ``python -m grader.sandbox.zygote``.
    """
    global _WORKER
    if _WORKER is None or not _WORKER.alive:
        ref = Path(reference_dir) if reference_dir else default_reference_dir()
        _WORKER = Worker(start="auto", secret_roots=(str(ref.resolve()),)).start()
        atexit.register(close_worker)
    return _WORKER


def close_worker() -> None:
    """Stop the process-wide worker (and every child it has)."""
    global _WORKER
    if _WORKER is not None:
        _WORKER.close()
        _WORKER = None


def default_html_path(submission: str | os.PathLike, *, reports_dir: str | os.PathLike = "reports") -> Path:
    """``reports/<submission name>-<UTC timestamp>.html``."""
    name = Path(submission).resolve().name or "submission"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).stem) or "submission"
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path(reports_dir) / f"{name}-{stamp}.html"


def check(path: str | os.PathLike = "assignments", *, assignments: tuple[str, ...] | list[str] = (),
          device: str = "auto", json_path: str | os.PathLike | None = None,
          html_path: str | os.PathLike | None = None, reference_dir: str | os.PathLike | None = None,
          options: Options | None = None, worker: Worker | None = None,
          catalog: Catalog | None = None) -> GradeResult:
    """Grade the submission at ``path``.

    Args:
        path: a folder of ``<assignment id>.py`` modules, one ``.py`` file, or a ``.ipynb`` notebook.
        assignments: assignment ids to grade (default: all, or those a single file defines).
        device: ``auto`` (CPU, plus CUDA when present), ``cpu`` or ``cuda``.
        json_path: write the JSON result there.
        html_path: write the HTML report there.
        reference_dir: folder with references and ``specs/`` (default: see
            :func:`grader.loader.default_reference_dir`).
        options: engine options; ``devices`` is set from ``device``.
        worker: a started :class:`~grader.sandbox.worker.Worker` (default: the shared one).
        catalog: a loaded catalog (default: loaded from ``reference_dir``).

    Returns:
        The :class:`~grader.results.GradeResult`.

    Raises:
        SpecError: the specs or references are broken, or an assignment id is unknown.
        SubmissionError: the submission cannot be read at all.
        ValueError: bad ``device``.
    """
    devices = resolve_devices(device)
    worker = worker or get_worker(reference_dir=reference_dir)  # before references are imported: fork is safe
    catalog = catalog or load_any_catalog(reference_dir)
    for a in assignments:
        catalog.get(a)
    submission = load_submission(path, assignment_ids=catalog.ids)
    opts = options or Options()
    opts = Options(**{**opts.__dict__, "devices": devices})
    result = grade_submission(submission, catalog, assignments=tuple(assignments), worker=worker, options=opts)
    from grader.kit.catalog import stale_kit_problems

    stale = stale_kit_problems(submission, catalog, assignments=tuple(assignments))
    if stale:
        result = dataclasses.replace(result, problems=(*result.problems, *stale))
    if json_path:
        from grader.report import write_json

        write_json(result, json_path)
    if html_path:
        from grader.report import write_html

        write_html(result, html_path)
    return result


def load_any_catalog(reference_dir: str | os.PathLike | None = None):
    """The project's catalog (references + specs), or, in a student kit, the kit's.

    A kit (built by ``grade release``) has no ``reference/``; it ships the
    visible cases as data (:mod:`grader.kit`).

    Raises:
        SpecError: neither a reference folder with specs nor a kit was found.
    """
    ref = Path(reference_dir) if reference_dir else default_reference_dir()
    if reference_dir or (ref / "specs").is_dir():
        return load_catalog(ref)
    try:
        from grader.kit.catalog import find_kit, load_kit
    except ImportError:  # pragma: no cover
        return load_catalog(ref)
    kit = find_kit(Path.cwd())
    if kit is not None:
        return load_kit(kit)
    return load_catalog(ref)


def list_assignments(*, reference_dir: str | os.PathLike | None = None) -> list[dict]:
    """Assignments, their functions and points: ``[{"id", "title", "max_score", "functions": [...]}]``."""
    catalog = load_any_catalog(reference_dir)
    out = []
    for a in catalog.assignments:
        out.append({
            "id": a.id, "title": a.title, "max_score": a.max_score,
            "banned": list(a.banned),
            "functions": [{"name": f.name, "max_score": f.max_score, "cases": len(f.cases),
                           "hidden_cases": sum(c.hidden for c in f.cases)} for f in a.functions],
        })
    return out


def lint_spec(*, reference_dir: str | os.PathLike | None = None, assignments: tuple[str, ...] = (),
              stubs_dir: str | os.PathLike | None = None, oracles: bool = False) -> list:
    """Check specs against their stubs and references (:mod:`grader.catalog.lint`).

    Args:
        reference_dir: folder with references and ``specs/`` (default: see
            :func:`grader.catalog.project.default_reference_dir`).
        assignments: ids to lint (default: all).
        stubs_dir: folder with the stubs (default: ``assignments/`` beside the reference folder).
        oracles: also compare each reference with its library oracle (test dependencies needed).

    Returns:
        The :class:`~grader.catalog.lint.Problem` list; empty when every spec is sound.

    Raises:
        SpecError: the catalog cannot be loaded, or an id is unknown.
    """
    from grader.catalog.lint import lint_catalog
    from grader.catalog.project import load_catalog

    ref = Path(reference_dir) if reference_dir else default_reference_dir()
    catalog = load_catalog(ref)
    for a in assignments:
        catalog.get(a)
    stubs = Path(stubs_dir) if stubs_dir else ref.resolve().parent / "assignments"
    return lint_catalog(catalog, stubs_dir=stubs, assignments=tuple(assignments), oracles=oracles)


def batch(submissions: str | os.PathLike, *, out_dir: str | os.PathLike, assignments: tuple[str, ...] | list[str] = (),
          device: str = "auto", jobs: int | None = None, force: bool = False, scheduler: str | None = None,
          reference_dir: str | os.PathLike | None = None, time_scale: float = 1.0, submission_seconds: float = 300.0,
          function_jobs: int = 1, task_grace_seconds: float = 120.0, limits=None, progress=None, on_start=None):
    """Grade a whole class into ``out_dir`` (what ``grade batch`` does); see :func:`grader.batch.run.run_batch`.

    Example::

        from grader.api import batch
        summary = batch("submissions.zip", out_dir="grades", assignments=("my_assignment",), jobs=4)
        for row in summary.rows:
            print(row.id, row.total, row.status, row.reason)

    Args:
        submissions: a folder with one entry per student (a folder of ``<assignment>.py`` modules,
            one ``.py``, one ``.ipynb``, or a ``.zip`` of those), or an LMS export ``.zip``
            (Canvas, Moodle, Gradescope).
        out_dir: output folder (created): ``<id>.json``/``.html``/``.results.json`` per entry,
            ``gradebook.csv``, ``class_report.html``, the cache ``.grade-cache/``.
        assignments: assignment ids to grade (default: all).
        device: ``auto`` (CPU, plus CUDA when present), ``cpu`` or ``cuda``.
        jobs: local worker processes (default: the CPU cores available).
        force: regrade every entry, ignoring the cache.
        scheduler: a Dask scheduler address (``tcp://host:8786``) to grade on instead of local workers.
        reference_dir: folder with references and ``specs/`` (default:
            :func:`grader.catalog.project.default_reference_dir`).
        time_scale: multiplies every time limit.
        submission_seconds: grading budget of one submission, in seconds (before ``time_scale``).
        function_jobs: functions of one submission graded at once inside a worker.
        task_grace_seconds: extra seconds before a worker that has not answered is stopped.
        limits: a :class:`grader.batch.records.ArchiveLimits` (default: its defaults).
        progress: ``progress(done, total, last id)`` after each entry.
        on_start: ``on_start(discovery, cached, to_grade)`` once, before grading starts.

    Returns:
        The :class:`grader.batch.records.BatchSummary` (rows, counts, paths written, timings).

    Raises:
        grader.errors.BatchError: the batch cannot run (unusable SUBMISSIONS, unknown
            assignment or device, no specs, broken specs, unreachable scheduler); its
            ``exit_code`` is what ``grade batch`` exits with. Entries that cannot be graded
            never raise: they get a gradebook row with status ``error``.
    """
    from grader.batch.records import ArchiveLimits, BatchOptions
    from grader.batch.run import run_batch

    options = BatchOptions(assignments=tuple(assignments), device=device, jobs=jobs, force=force, scheduler=scheduler,
                           reference_dir=str(reference_dir) if reference_dir is not None else None,
                           time_scale=time_scale, submission_seconds=submission_seconds, function_jobs=function_jobs,
                           task_grace_seconds=task_grace_seconds, limits=limits or ArchiveLimits())
    return run_batch(submissions, out_dir=out_dir, options=options, progress=progress, on_start=on_start)
