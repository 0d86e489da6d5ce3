"""Grade one submission: plan → run in sandbox sessions → judge → score.

For every selected assignment:

1. **plan** each function: its instances (case × dtype; hidden ones drawn
   for this submission), or a verdict decided without running (a syntax
   error, a function that is not defined);
2. **run** the runnable functions in as few sandbox sessions as possible
   (:mod:`grader.judge.runner`): one child imports the module and runs every
   function's cases one request at a time; when a child is stopped
   (timeout, memory, crash, tampering) the functions after the one it was
   running get a fresh child;
3. **judge** each instance (:mod:`grader.judge.verdict`) and score: a case
   earns its points only if it passes on every device it ran on, so the
   maximum score is the same on every machine.

Never raises for anything the submission does.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import os
import time
from dataclasses import dataclass

from grader import __version__
from grader.errors import DeviceError
from grader.judge import compare as cmp
from grader.judge.runner import FIRST_CALL_GRACE, Context, instance_limits, run_function
from grader.judge.scan import hits_for, scan
from grader.judge.verdict import VerdictContext, early_result, function_results
from grader.report.format import size
from grader.results import AssignmentResult, CaseResult, GradeResult
from grader.sandbox import protocol
from grader.sandbox.worker import Worker, describe_exit
from grader.spec import Assignment, Function
from grader.status import Status
from grader.submission.load import SourceModule, Submission

__all__ = ["Options", "grade_submission", "available_devices", "resolve_devices", "submission_key"]


@dataclass(frozen=True)
class Options:
    """Knobs of a grading run.

    Attributes:
        devices: devices every case runs on (``("cpu",)`` or ``("cpu", "cuda")``).
        time_scale: multiplies every time limit (slow machines, CI).
        case_seconds: overrides the spec's per-case CPU-time floor (seconds).
        submission_seconds: wall-time budget of a whole submission; functions
            not started by then are ``skipped``.
        include_hidden: grade hidden cases too (False in the student kit).
        confine: install the sandbox's confinement; tests of the harness
            itself may turn it off, graders never should.
        deny_roots: extra folders the student's code may never read.
        jobs: functions graded at once (each group in its own child process).
    """

    devices: tuple[str, ...] = ("cpu",)
    time_scale: float = 1.0
    case_seconds: float | None = None
    submission_seconds: float = 600.0
    include_hidden: bool = True
    confine: bool = True
    deny_roots: tuple[str, ...] = ()
    jobs: int = max(1, min(4, os.cpu_count() or 1))


def available_devices() -> tuple[str, ...]:
    """``("cpu",)``, plus ``"cuda"`` when torch sees a GPU."""
    import torch

    return ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)


def resolve_devices(device: str) -> tuple[str, ...]:
    """``auto`` → every available device; ``cpu``; ``cuda`` (raises if CUDA is absent).

    Raises:
        DeviceError: unknown device, or ``cuda`` requested without CUDA.
    """
    if device == "auto":
        return available_devices()
    if device == "cpu":
        return ("cpu",)
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise DeviceError("--device cuda was requested but CUDA is not available on this machine "
                              "(torch.cuda.is_available() is False). Use --device auto or cpu.")
        return ("cpu", "cuda")
    raise DeviceError(f"unknown device {device!r}: use auto, cpu or cuda")


def submission_key(module: SourceModule) -> str:
    """A fingerprint of a submission module: hidden cases draw their inputs from it."""
    return hashlib.sha256(module.source.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# --------------------------------------------------------------------------- planning


@dataclass
class _Plan:
    """One function: its instances, and either verdicts decided without running or what running needs."""

    function: Function
    insts: list
    early: list | None = None
    hits: list = dataclasses.field(default_factory=list)


def _plans(assignment: Assignment, module: SourceModule, catalog, options: Options) -> list[_Plan]:
    key = submission_key(module)
    plans = []
    scans: dict[tuple, tuple] = {}
    for f in assignment.functions:
        insts = catalog.instances(assignment, f, include_hidden=options.include_hidden, submission_key=key)
        plan = _Plan(function=f, insts=insts)
        if module.syntax_error:
            plan.early = [early_result(f, i, options.devices, "error", module.syntax_error) for i in insts]
        elif f.name not in module.names and "*" not in module.names:
            why = module.why_missing(f.name) if hasattr(module, "why_missing") else None
            msg = (f"{why}." if why else f"`{f.name}` is not defined in {os.path.basename(module.filename)}. "
                   "Write it with the signature from the assignment.")
            plan.early = [early_result(f, i, options.devices, "not_implemented", msg) for i in insts]
        else:
            banned, _ = assignment.banned_for(f)
            if banned not in scans:
                scans[banned] = scan(module.source, banned)
            hits, calls = scans[banned]
            plan.hits = hits_for(f.name, hits, calls)
        plans.append(plan)
    return plans


def _regionsize(plans: list[_Plan]) -> int:
    biggest = 0
    for p in plans:
        for inst in p.insts:
            lay = protocol.layout_inputs(inst.inputs, capacity=1 << 62)
            if lay is not None:
                biggest = max(biggest, lay.size)
    return 2 * biggest + (1 << 20)


def _setup(assignment: Assignment, module: SourceModule, submission: Submission, catalog, options: Options,
           plans: list[_Plan]) -> dict:
    sub_dir = submission.directory
    deny = [d for d in (catalog.reference_dir, *options.deny_roots)
            if d and not (os.path.realpath(sub_dir) + os.sep).startswith(os.path.realpath(d) + os.sep)]
    function_bans = {}
    for p in plans:
        b, o = assignment.banned_for(p.function)
        if (b, o) != (tuple(assignment.banned), tuple(assignment.banned_ops)):
            function_bans[p.function.name] = {"banned": list(b), "banned_ops": list(o)}
    limits = assignment.limits
    return {
        "module_name": module.name, "filename": module.filename,
        "cells": [{"number": c.number, "source": c.source, "filename": c.filename, "writefile": c.writefile}
                  for c in module.run_cells()],
        "notebook": bool(getattr(module, "notebook", False)),
        "banned": list(assignment.banned), "banned_ops": list(assignment.banned_ops),
        "function_bans": function_bans,
        "limits": {"memory_mb": max(assignment.limits_for(p.function).memory_mb for p in plans),
                   "open_files": limits.open_files, "cpu_seconds": None},
        # A folder submission may import its own helper modules; a single file may read only itself
        # (its folder may hold other students' files, e.g. in a batch).
        "sandbox": {"submission_dir": sub_dir if submission.kind == "folder" else None,
                    "read_roots": [sub_dir] if submission.kind == "folder" else [module.filename],
                    "deny_roots": deny, "confine": options.confine},
        "devices": list(options.devices),
    }


# --------------------------------------------------------------------------- running


def _floor(assignment: Assignment, function: Function, options: Options) -> tuple[float, float]:
    lim = assignment.limits_for(function)
    return (options.case_seconds if options.case_seconds is not None else lim.case_seconds), lim.time_factor


def _cpu_budget(assignment: Assignment, plans: list[_Plan], options: Options) -> float:
    total = 0.0
    for p in plans:
        floor, factor = _floor(assignment, p.function, options)
        for inst in p.insts:
            for dev in options.devices:
                total += instance_limits(inst, floor=floor, factor=factor, time_scale=options.time_scale,
                                         device=dev, first=True).cpu
    return 3 * total + 60.0


def _import_failure(imp, where) -> tuple[str, str]:
    """(status, message) for every case when the module's top level did not complete."""
    if imp.report is not None:
        rep = imp.report
        err = rep.error
        tb = (err.traceback or f"{err.type}: {err.message}").strip() if err else ""
        if rep.kind == "SystemExit":
            return "error", f"your module called sys.exit() while being imported.\n{tb}"
        if rep.kind == "oom":
            return "error", f"your module ran out of memory while being imported.\n{tb}"
        return "error", f"importing your module failed.\n{tb}"
    stop = imp.stop
    if stop is not None and stop.reason == "tamper":
        return "banned", (f"while importing your module, {stop.detail}. This looks like tampering with the grader; "
                          "no case earns points and your instructor will review it.")
    if stop is not None and stop.reason == "timeout":
        return "timeout", f"while importing your module (its top-level code): {stop.detail}"
    if stop is not None and stop.reason == "crash":
        return "error", f"while importing your module, the process ended unexpectedly: {describe_exit(stop.exit_status)}."
    return "error", f"while importing your module, {stop.detail if stop else 'the process stopped'}"


def _cell_notes(imp, module: SourceModule) -> list[str]:
    notes = []
    if imp.report is None:
        return notes
    for ce in imp.report.cell_errors:
        err = ce.error
        if ce.kind == "writefile":
            notes.append(f"cell {ce.cell}: %%writefile could not write its file ({err.type}: {err.message}).")
            continue
        tb = err.traceback.strip().splitlines()
        last = tb[-1] if tb else f"{err.type}: {err.message}"
        line = ""
        for ln in reversed(tb):
            if ln.lstrip().startswith("File ") and ", line " in ln:
                line = ", line " + ln.split(", line ", 1)[1].split(",")[0]
                break
        notes.append(f"cell {ce.cell}{line} raised {last} — the cells after it still ran, as in Jupyter.")
    return notes


def _output_text(session) -> str:
    out, err, dropped, hidden = session.printed
    text = out.decode("utf-8", "replace") + err.decode("utf-8", "replace")
    if dropped:
        kept = len(out) + len(err)
        text = text[-2000:] + f"\n[grade: your code printed {size(kept + dropped)}; kept the first {size(kept)}]"
    if hidden:
        text += f"\n[grade: what your code printed during hidden cases ({size(hidden)}) is not shown]"
    return text


def _tampered(cases: list[CaseResult], detail: str) -> list[CaseResult]:
    out = []
    for c in cases:
        if c.status in (Status.NOT_IMPLEMENTED, Status.BANNED):
            out.append(c)
            continue
        out.append(dataclasses.replace(
            c, status=Status.BANNED, score=0.0, diagnosis=None,
            message=(f"{detail}. This looks like tampering with the grader: none of the results of this process are "
                     "trusted, the case earns no points and your instructor will review it.")))
    return out


def _run_chunk(assignment: Assignment, plans: list[_Plan], module: SourceModule, submission: Submission, catalog,
               worker: Worker, options: Options, deadline: float):
    """Run ``plans`` in one child, then in fresh ones after a stop; return (results, outputs, notes)."""
    devices = options.devices
    results: dict[str, list[CaseResult]] = {}
    outputs: list[tuple[str, str]] = []
    notes: list[str] = []
    pending = list(plans)
    ref = catalog.references.get(assignment.id) if catalog.kind == "project" else None
    while pending:
        if time.monotonic() > deadline:
            for p in pending:
                results[p.function.name] = [early_result(p.function, i, devices, "skipped",
                                                         "not run: the submission used up its total time limit.")
                                            for i in p.insts]
            break
        setup = _setup(assignment, module, submission, catalog, options, pending)
        setup["limits"]["cpu_seconds"] = _cpu_budget(assignment, pending, options)
        session = worker.session(setup, memory_mb=setup["limits"]["memory_mb"],
                                 output_bytes=assignment.limits.output_bytes, region_size=_regionsize(pending))
        floor0, _ = _floor(assignment, pending[0].function, options)
        import_cpu = (max(floor0, 2.0) * 2 + FIRST_CALL_GRACE) * options.time_scale
        imp = session.open(cpu_limit=import_cpu, wall_limit=3 * import_cpu + 5)
        if not notes:
            notes.extend(_cell_notes(imp, module))
        if imp.report is None or not imp.report.ok:
            session.close()
            status, msg = _import_failure(imp, module.where if hasattr(module, "where") else None)
            for p in pending:
                results[p.function.name] = [early_result(p.function, i, devices, status, msg) for i in p.insts]
            text = _output_text(session)
            if text.strip():
                outputs.append((", ".join(p.function.name for p in pending), text))
            break
        done: list[tuple[_Plan, list]] = []
        stop = None
        for p in pending:
            if time.monotonic() > deadline:
                break
            floor, factor = _floor(assignment, p.function, options)
            names = catalog.arg_names(assignment, p.function)
            ctx = Context(devices=devices, floor=floor, factor=factor, time_scale=options.time_scale,
                          reference=ref, arg_names=names,
                          failing=lambda inst, out, f=p.function: bool(cmp.compare(
                              inst.expected, out, tol=assignment.tolerance_for(f, inst.case, inst.dtype))),
                          failing_values=lambda inst, exp, out, f=p.function: bool(cmp.compare(
                              exp, out, tol=assignment.tolerance_for(f, inst.case, inst.dtype))))
            evidence, stop = run_function(session, p.function, p.insts, ctx, first=True)
            done.append((p, evidence))
            if stop is not None:
                break
        session.close()
        if session.stop is not None and stop is None:
            stop = session.stop
        text = _output_text(session)
        if text.strip():
            outputs.append((", ".join(p.function.name for p, _ in done), text))
        for p, evidence in done:
            vctx = VerdictContext(assignment=assignment, function=p.function, devices=devices,
                                  names=catalog.arg_names(assignment, p.function), static_hits=p.hits,
                                  where=module.where, locate=module.locate,
                                  memory_mb=assignment.limits_for(p.function).memory_mb)
            cases = function_results(vctx, evidence)
            if p.function.name in session.suspects:
                cases = _tampered(cases, session.stop.detail)
            results[p.function.name] = cases
        finished = {p.function.name for p, _ in done}
        pending = [p for p in pending if p.function.name not in finished]
    return results, outputs, notes


def _grade_assignment(assignment: Assignment, module: SourceModule, submission: Submission, catalog, worker: Worker,
                      options: Options, deadline: float, parallel: int = 1):
    plans = _plans(assignment, module, catalog, options)
    results: dict[str, list[CaseResult]] = {p.function.name: p.early for p in plans if p.early is not None}
    outputs: list[tuple[str, str]] = []
    notes: list[str] = list(module.notes)
    runnable = [p for p in plans if p.early is None]
    chunks = [runnable[i::parallel] for i in range(parallel)] if parallel > 1 else [runnable]
    for res, outs, nts in _map(lambda chunk: _run_chunk(assignment, chunk, module, submission, catalog, worker,
                                                        options, deadline), [c for c in chunks if c], options.jobs):
        results.update(res)
        outputs.extend(outs)
        notes.extend(n for n in nts if n not in notes)
    ordered = [c for f in assignment.functions for c in results.get(f.name, [])]
    return ordered, outputs, notes


def _map(fn, items, jobs: int) -> list:
    """``[fn(x) for x in items]``, with up to ``jobs`` children running at once."""
    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(jobs, len(items)), thread_name_prefix="grade-job") as ex:
        return list(ex.map(fn, items))


def _assignment_status(cases: list[CaseResult], module: SourceModule | None) -> str:
    if module is None:
        return "missing"
    if module.syntax_error:
        return "error"
    if cases and all(c.status == "not_implemented" for c in cases):
        return "not_implemented"
    if cases and all(c.status == "passed" for c in cases):
        return "passed"
    return "failed"


def _estimated_calls(assignment: Assignment) -> int:
    """How many calls of the student's code grading ``assignment`` takes (each case, dtype, repeat
    and trajectory step): the order in which assignments are started."""
    n = 0
    for f in assignment.functions:
        for c in f.cases:
            steps = c.trajectory.steps if c.trajectory is not None else max(1, c.repeats)
            n += len(c.dtypes) * steps
    return n


def grade_submission(submission: Submission, catalog, *, assignments: tuple[str, ...] = (), worker: Worker,
                     options: Options = Options()) -> GradeResult:
    """Grade ``submission`` against ``catalog``.

    Args:
        submission: what :func:`grader.submission.load.load_submission` returned.
        catalog: the assignments and references (:class:`grader.catalog.Catalog`).
        assignments: ids to grade; empty means every assignment (for a single
            ``.py``/``.ipynb``, every assignment it defines a function of).
        worker: a started :class:`grader.sandbox.worker.Worker`.
        options: see :class:`Options`.

    Returns:
        A :class:`GradeResult`; never raises for anything the submission does.
    """
    import torch

    t0 = time.monotonic()
    deadline = t0 + options.submission_seconds * options.time_scale
    if assignments:
        selected = [catalog.get(a) for a in assignments]
    elif submission.single_file:
        mod = submission.modules["*"]
        selected = [a for a in catalog.assignments if any(f.name in mod.names for f in a.functions)]
        if not selected and mod.syntax_error:
            selected = list(catalog.assignments)
    else:
        selected = list(catalog.assignments)

    def grade_one(a: Assignment) -> AssignmentResult:
        module = submission.module_for(a.id)
        cases: list[CaseResult] = []
        outputs: list = []
        notes: list = []
        message = ""
        if module is None:
            message = f"no {a.id}.py (or {a.id}.ipynb) in {submission.path}. Name your file after the assignment."
            for f in a.functions:
                for inst in catalog.instances(a, f, include_hidden=options.include_hidden):
                    cases.append(early_result(f, inst, options.devices, "not_implemented", f"{a.id}.py was not found."))
        else:
            if module.syntax_error:
                message = module.syntax_error
            cases, outputs, notes = _grade_assignment(a, module, submission, catalog, worker, options, deadline,
                                                      parallel=max(1, options.jobs // max(1, len(selected))))
        return AssignmentResult(id=a.id, title=a.title, status=_assignment_status(cases, module),
                                score=sum(c.score for c in cases), max_score=sum(c.max_score for c in cases),
                                cases=tuple(cases), message=message,
                                output=tuple((f, t[-4000:]) for f, t in outputs),
                                source_file=module.filename if module else "", notes=tuple(notes))

    # Longest first (each assignment is one process): the biggest does not start last and run alone.
    order = sorted(range(len(selected)), key=lambda i: -_estimated_calls(selected[i]))
    done = dict(zip(order, _map(grade_one, [selected[i] for i in order], options.jobs)))
    results = [done[i] for i in range(len(selected))]
    return GradeResult(
        submission=str(submission.path),
        score=sum(r.score for r in results), max_score=sum(r.max_score for r in results),
        assignments=tuple(results), devices=tuple(options.devices), seconds=time.monotonic() - t0,
        graded_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        versions={"grade": __version__, "torch": torch.__version__},
        kit=catalog.kit_info,
    )

