"""The batch pipeline: :func:`run_batch` runs the steps of :data:`STEPS` in order.

1. check the reference folder and the options (:func:`spec_ids`);
2. prepare the output folder (cache and work folders, temp files of a killed run removed);
3. discover the entries (:func:`grader.batch.discover.discover`);
4. read each entry, take it from the cache when its key is there (:mod:`grader.batch.cache`),
   else make it a :class:`Task`;
5. grade the tasks on an executor (:mod:`grader.batch.executors`), writing each entry's outputs
   (:mod:`grader.batch.outputs`) and cache record as its outcome arrives;
6. write the gradebook (:mod:`grader.batch.gradebook`);
7. write the class report (:mod:`grader.report.classreport`).

Every step is a function of the run's state (:class:`_Run`); the ``grade batch`` command is a thin
layer over :func:`grader.api.batch`, which calls :func:`run_batch`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader.batch.cache import (batch_fingerprint, cache_key, entry_content_hash, read_cached, tree_hash,
                                write_cached)
from grader.batch.discover import discover, read_entry
from grader.batch.errors import BatchError, EntryError
from grader.batch.executors import make_executor
from grader.batch.gradebook import gradebook_rows, write_gradebook
from grader.batch.outputs import (clean_temp_files, error_result_doc, outputs_fresh, render_reports, report_title,
                                  write_entry_outputs)
from grader.batch.records import (CACHE_DIR, CLASS_REPORT, GRADEBOOK, WORK_DIR, BatchOptions, BatchSummary,
                                  CacheRecord, Discovery, Outcome, Row, Task)

__all__ = ["run_batch", "spec_ids", "STEPS", "ProgressFn", "StartFn"]

ProgressFn = Callable[[int, int, str], None]
"""``progress(done, total, last id)``: after each entry ("" once before grading starts)."""
StartFn = Callable[[Discovery, int, int], None]
"""``on_start(discovery, entries taken from the cache, entries to grade)``: once, before grading starts."""


def spec_ids(reference_dir: str | os.PathLike) -> tuple[str, ...]:
    """Assignment ids of ``reference_dir/specs/*.py`` in catalog order (each spec's ``position``, then
    its name); file names and ``position = N`` lines only, nothing is imported.

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


@dataclass
class _Run:
    """What one run carries from step to step (filled in as the steps go)."""

    submissions: str | os.PathLike
    out: Path
    options: BatchOptions
    progress: ProgressFn | None
    on_start: StartFn | None
    t0: float = field(default_factory=time.monotonic)
    ref: Path = Path()
    selected: tuple[str, ...] = ()
    discovery: Discovery | None = None
    tasks: list[Task] = field(default_factory=list)
    cached: int = 0
    done: int = 0
    docs: dict[str, dict] = field(default_factory=dict)  # id -> the parts of the result the gradebook reads
    errors: dict[str, str] = field(default_factory=dict)  # id -> why it could not be graded
    summaries: dict[str, dict] = field(default_factory=dict)  # id -> grader.report.classreport.summarize(...)
    outcomes: list[Outcome] = field(default_factory=list)
    workers: dict[str, tuple[float, float]] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    gradebook: Path = Path()
    class_report: Path = Path()

    @property
    def cache(self) -> Path:
        return self.out / CACHE_DIR

    @property
    def work(self) -> Path:
        return self.out / WORK_DIR

    def record(self, oid: str, doc: dict, error: str) -> None:
        """Keep what the gradebook and the class report need of one entry's result."""
        from grader.report.classreport import summarize

        self.docs[oid] = {k: doc.get(k) for k in ("status", "score", "max_score", "problems")} | {
            "assignments": [{"id": a["id"], "score": a["score"]} for a in doc.get("assignments", [])]}
        if error:
            self.errors[oid] = error
        self.summaries[oid] = summarize(doc, id=oid, error=error)

    def tick(self, oid: str) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.done, len(self.discovery.entries), oid)


# ---------------------------------------------------------------------------
# the steps


def _check_options(run: _Run) -> None:
    from grader.catalog.project import default_reference_dir

    options = run.options
    ref = Path(options.reference_dir) if options.reference_dir else default_reference_dir()
    run.ref = ref = ref.resolve()
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
    run.selected = tuple(a for a in known if a in options.assignments) if options.assignments else known


def _prepare_output(run: _Run) -> None:
    run.out.mkdir(parents=True, exist_ok=True)
    run.cache.mkdir(exist_ok=True)
    run.work.mkdir(exist_ok=True)
    clean_temp_files(run.out)
    clean_temp_files(run.cache)


def _discover(run: _Run) -> None:
    run.discovery = discover(run.submissions, work_dir=run.work, limits=run.options.limits, exclude=(run.out,))


def _plan(run: _Run) -> None:
    """Unreadable entries get their error outputs, cached ones their outputs (rewritten only when
    missing or stale); the others become tasks."""
    options, out = run.options, run.out
    fp = batch_fingerprint(reference_dir=run.ref, assignments=run.selected, device=options.device,
                           time_scale=options.time_scale, submission_seconds=options.submission_seconds)
    ref_hash = tree_hash(run.ref)
    for e in run.discovery.entries:
        try:
            files = read_entry(e, limits=options.limits)
        except EntryError as exc:
            msg = str(exc)
            doc = error_result_doc(e.name, msg)
            html, gs = render_reports(doc, title=report_title(e.id))
            write_entry_outputs(out, e.id, doc, html, gs)
            run.record(e.id, doc, msg)
            continue
        key = cache_key(fp, e.id, entry_content_hash(files))
        rec = None if options.force else read_cached(run.cache, key)
        if rec is not None:
            if not outputs_fresh(out, e.id, rec.doc):
                html, gs = render_reports(rec.doc, title=report_title(e.id))
                write_entry_outputs(out, e.id, rec.doc, html, gs)
            run.record(e.id, rec.doc, rec.error)
            run.cached += 1
            continue
        run.tasks.append(Task(id=e.id, name=e.name, key=key, files=tuple(sorted(files.items())),
                              assignments=run.selected, device=options.device, time_scale=options.time_scale,
                              submission_seconds=options.submission_seconds, function_jobs=options.function_jobs,
                              reference_dir=str(run.ref), reference_hash=ref_hash,
                              work_root=str(run.work / "entries"), limits=options.limits))
    total = len(run.discovery.entries)
    if run.on_start:
        run.on_start(run.discovery, run.cached, len(run.tasks))
    run.done = total - len(run.tasks)
    if run.progress:
        run.progress(run.done, total, "")


def _grade(run: _Run) -> None:
    """Each outcome, as it arrives: outputs, then the cache record (last: a killed run regrades the entry)."""
    if not run.tasks:
        return
    entry_by_id = {e.id: e for e in run.discovery.entries}

    def on_outcome(o: Outcome) -> None:
        write_entry_outputs(run.out, o.id, o.doc, o.html, o.gradescope)
        if o.cacheable:
            write_cached(run.cache, CacheRecord(key=o.key, id=o.id, entry=entry_by_id[o.id].name, error=o.error,
                                                doc=o.doc))
        run.record(o.id, o.doc, o.error)
        run.outcomes.append(dataclasses.replace(o, html="", gradescope={}, doc={}))
        if o.worker:
            prev = run.workers.get(o.worker, (0.0, 0.0))
            run.workers[o.worker] = (max(prev[0], o.rss_mb), max(prev[1], o.zygote_rss_mb))
        run.tick(o.id)

    options = run.options
    task_timeout = options.submission_seconds * options.time_scale + options.task_grace_seconds
    executor = make_executor(scheduler=options.scheduler, jobs=options.jobs, reference_dir=str(run.ref),
                             task_timeout=task_timeout)
    executor.run(run.tasks, on_outcome)
    shutil.rmtree(run.work / "entries", ignore_errors=True)


def _write_gradebook(run: _Run) -> None:
    d = run.discovery
    run.rows = gradebook_rows(d.entries, run.docs, run.errors, run.selected, d.duplicates)
    run.gradebook = write_gradebook(run.out / GRADEBOOK, run.rows, run.selected)


def _write_class_report(run: _Run) -> None:
    from grader.report.classreport import write_class_report

    d = run.discovery
    run.class_report = write_class_report(run.out / CLASS_REPORT,
                                          summaries=[run.summaries[e.id] for e in d.entries if e.id in run.summaries],
                                          rows=run.rows, assignments=run.selected, discovery=d)


STEPS: tuple[tuple[str, Callable[[_Run], None]], ...] = (
    ("check the reference folder and options", _check_options),
    ("prepare the output folder", _prepare_output),
    ("discover the entries", _discover),
    ("read the entries, take what is cached, plan the rest", _plan),
    ("grade", _grade),
    ("write the gradebook", _write_gradebook),
    ("write the class report", _write_class_report),
)
"""The pipeline, in order: (what the step does, the step)."""


def run_batch(submissions: str | os.PathLike, *, out_dir: str | os.PathLike, options: BatchOptions = BatchOptions(),
              progress: ProgressFn | None = None, on_start: StartFn | None = None) -> BatchSummary:
    """Grade every entry of ``submissions`` into ``out_dir``.

    Writes, in ``out_dir``: per entry ``<id>.json`` (the ``grade check --json`` schema),
    ``<id>.html`` and ``<id>.results.json`` (Gradescope); ``gradebook.csv``; ``class_report.html``;
    the cache ``.grade-cache/`` and the work folder ``.grade-work/``.

    Args:
        submissions: a folder of entries or an LMS export ``.zip`` (see :mod:`grader.batch.lms`).
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
    run = _Run(submissions=submissions, out=Path(out_dir), options=options, progress=progress, on_start=on_start)
    for _what, step in STEPS:
        step(run)
    return BatchSummary(out_dir=str(run.out), discovery=run.discovery, rows=tuple(run.rows), graded=len(run.tasks),
                        cached=run.cached, errors=sum(r.status == "error" for r in run.rows),
                        seconds=time.monotonic() - run.t0, gradebook=str(run.gradebook),
                        class_report=str(run.class_report), assignments=run.selected, outcomes=tuple(run.outcomes),
                        workers=run.workers)
