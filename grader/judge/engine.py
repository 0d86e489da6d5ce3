"""Grade one submission: load → run in the sandbox → compare → score.

For every selected assignment and function this module

1. builds the case instances (case × dtype) from seeded generators;
2. computes the expected outputs with the reference, in the grader's own
   process (float64 arithmetic, cast back to the case dtype), and times it;
3. sends the inputs to one sandboxed child per function
   (:class:`grader.sandbox.worker.Worker`), which runs every instance on every
   device;
4. decodes, compares (:mod:`grader.judge.compare`), checks inputs were not
   modified, detects banned calls (static scan + run-time guard),
   diagnoses (:mod:`grader.judge.diagnose`) and scores.

A case instance earns its points only if it passes on every device it ran
on; the maximum score is therefore the same on every machine.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from dataclasses import dataclass

from grader import __version__
from grader.judge.scan import hits_for, scan
from grader.judge.compare import Mismatch, compare
from grader.judge.diagnose import diagnose, variant_outputs
from grader.catalog.project import Catalog
from grader.submission.load import SourceModule, Submission
from grader.results import AssignmentResult, CaseResult, DeviceRun, GradeResult
from grader.sandbox.worker import JobOutcome, Worker
from grader.catalog.instances import Instance
from grader.spec import Assignment, Function
from grader.sandbox.wire import Array

__all__ = ["Options", "grade_submission", "available_devices", "resolve_devices"]

_STATUS_ORDER = ("passed", "failed", "banned", "not_implemented", "error", "timeout", "skipped")


@dataclass(frozen=True)
class Options:
    """Knobs of a grading run.

    Attributes:
        devices: devices every case runs on (``("cpu",)`` or ``("cpu", "cuda")``).
        time_scale: multiplies every time limit (slow machines, CI).
        case_seconds: overrides the spec's per-case wall-time floor.
        submission_seconds: wall-time budget of a whole submission; functions
            not started by then are ``skipped``.
        include_hidden: grade hidden cases too (False in the student kit).
        confine: install the sandbox's confinement (audit hook); tests of the
            harness itself may turn it off, graders never should.
        deny_roots: extra folders the student's code may never read.
        jobs: functions graded at once (each in its own child process).
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
    import torch

    return ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)


def resolve_devices(device: str) -> tuple[str, ...]:
    """``auto`` → every available device; ``cpu``; ``cuda`` (raises if CUDA is absent).

    Raises:
        ValueError: unknown device, or ``cuda`` requested without CUDA.
    """
    if device == "auto":
        return available_devices()
    if device == "cpu":
        return ("cpu",)
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ValueError("--device cuda was requested but CUDA is not available on this machine "
                             "(torch.cuda.is_available() is False). Use --device auto or cpu.")
        return ("cpu", "cuda")
    raise ValueError(f"unknown device {device!r}: use auto, cpu or cuda")


# ---------------------------------------------------------------------------
# grading


def _worst(statuses) -> str:
    return max(statuses, key=_STATUS_ORDER.index) if statuses else "skipped"


def _mutation(inst: Instance, after, names: list[str]) -> str | None:
    from grader.judge.compare import matches
    from grader.spec import Tolerance

    before = inst.inputs
    exact = Tolerance(0.0, 0.0)
    b_args, a_args = before.get("args", ()), (after or {}).get("args", ())
    for i, (b, a) in enumerate(zip(b_args, a_args)):
        if isinstance(b, Array) and not matches(b, a, tol=exact):
            name = names[i] if i < len(names) else f"argument {i}"
            return (f"Your function modified its input `{name}` in place. Inputs must stay unchanged: work on a copy "
                    "(x = x.clone()) or use out-of-place ops (x = x - m instead of x -= m).")
    for k, b in before.get("kwargs", {}).items():
        a = (after or {}).get("kwargs", {}).get(k)
        if isinstance(b, Array) and not matches(b, a, tol=exact):
            return f"Your function modified its input `{k}` in place. Inputs must stay unchanged."
    return None


def _format_error(err: dict | None) -> str:
    if not err:
        return "your code raised an error"
    tb = err.get("traceback") or f"{err.get('type')}: {err.get('message')}"
    return tb.strip()


def _stopped_message(outcome: JobOutcome, limits_mb: int) -> tuple[str, str]:
    if outcome.stopped == "timeout":
        return "timeout", f"timed out after {outcome.limit_s:.3g} s (the limit for this case)."
    if outcome.stopped == "memory":
        return "error", f"exceeded the memory limit: used more than {limits_mb} MiB."
    if outcome.stopped == "output":
        return "error", "sent back more data than any correct answer needs; stopped."
    if outcome.stopped == "protocol":
        return "error", "the process corrupted the grader's result channel; stopped."
    return "error", f"the process ended unexpectedly: {outcome.exit_description}."


@dataclass
class _Plan:
    """What to do for one function: verdicts decided without running, or the instances to run."""

    function: Function
    insts: list[Instance]
    early: list[CaseResult] | None = None
    hits: list = None  # static banned hits reaching this function
    run_limits: list[float] = None


def _case_result(function: Function, inst: Instance, devices, status: str, message: str, **kw) -> CaseResult:
    return CaseResult(id=inst.case.id, function=function.name, dtype=inst.dtype, device=",".join(devices),
                      status=status, score=inst.points if status == "passed" else 0.0, max_score=inst.points,
                      message=message, description=inst.case.description, hidden=inst.case.hidden, **kw)


def _output_text(outcome: JobOutcome) -> str:
    text = outcome.stdout.decode("utf-8", "replace") + outcome.stderr.decode("utf-8", "replace")
    dropped = outcome.stdout_dropped + outcome.stderr_dropped
    if dropped:
        kept = len(outcome.stdout) + len(outcome.stderr)
        text = text[-2000:] + f"\n[grade: your code printed {_size(kept + dropped)}; kept the first {_size(kept)}]"
    return text


def _import_failure(outcome: JobOutcome) -> tuple[str, str]:
    """(status, message) for every case when the module's top level did not complete."""
    if outcome.import_error:
        ie = outcome.import_error
        kind = ie.get("kind")
        err = ie.get("error") or {}
        if kind == "SystemExit":
            return "error", f"your module called sys.exit() while being imported.\n{_format_error(err)}"
        if kind == "oom":
            return "error", f"your module ran out of memory while being imported.\n{_format_error(err)}"
        return "error", f"importing your module failed.\n{_format_error(err)}"
    if outcome.stopped == "timeout":
        return "timeout", f"timed out after {outcome.limit_s:.3g} s while importing your module (its top-level code)."
    status, why = _stopped_message(outcome, 0)
    return status, f"while importing your module, {why}"


def _grade_assignment(assignment: Assignment, module: SourceModule, submission: Submission, catalog: Catalog,
                      worker: Worker, options: Options, deadline: float,
                      parallel: int = 1) -> tuple[list[CaseResult], list]:
    """Grade every function of ``assignment`` in as few children as possible.

    One child runs all the functions (``parallel`` children share them out);
    when it is stopped (timeout, memory, crash) while running function F,
    F's remaining cases are not run again, and the functions after F are
    graded in a fresh child.
    """
    devices = options.devices
    static_hits, calls = scan(module.source, assignment.banned)
    plans: list[_Plan] = []
    for f in assignment.functions:
        insts = catalog.instances(assignment, f, include_hidden=options.include_hidden)
        plan = _Plan(function=f, insts=insts)
        if module.syntax_error:
            plan.early = [_case_result(f, i, devices, "error", module.syntax_error) for i in insts]
        elif f.name not in module.names and "*" not in module.names:
            msg = (f"`{f.name}` is not defined in {os.path.basename(module.filename)}. "
                   "Write it with the signature from the assignment.")
            plan.early = [_case_result(f, i, devices, "not_implemented", msg) for i in insts]
        else:
            limits = assignment.limits_for(f)
            floor = options.case_seconds if options.case_seconds is not None else limits.case_seconds
            plan.hits = hits_for(f.name, static_hits, calls)
            plan.run_limits = [(floor + limits.time_factor * inst.ref_seconds) * options.time_scale
                               + (5.0 if dev != "cpu" else 0.0) for inst in insts for dev in devices]
        plans.append(plan)

    results: dict[str, list[CaseResult]] = {p.function.name: p.early for p in plans if p.early is not None}
    outputs: list[tuple[str, str]] = []
    runnable = [p for p in plans if p.early is None]
    chunks = [runnable[i::parallel] for i in range(parallel)] if parallel > 1 else [runnable]
    for res, outs in _map(lambda chunk: _run_plans(assignment, chunk, module, submission, catalog, worker, options,
                                                   deadline), [c for c in chunks if c], options.jobs):
        results.update(res)
        outputs.extend(outs)
    ordered = [c for f in assignment.functions for c in results.get(f.name, [])]
    return ordered, outputs


def _run_plans(assignment: Assignment, pending: list[_Plan], module: SourceModule, submission: Submission,
               catalog: Catalog, worker: Worker, options: Options, deadline: float):
    """Run ``pending`` functions in one child, then in fresh ones after a stop; return (results, outputs)."""
    devices = options.devices
    results: dict[str, list[CaseResult]] = {}
    outputs: list[tuple[str, str]] = []
    sub_dir = submission.directory
    deny = [d for d in (catalog.reference_dir, *options.deny_roots)
            if d and not (os.path.realpath(sub_dir) + os.sep).startswith(os.path.realpath(d) + os.sep)]
    while pending:
        if time.monotonic() > deadline:
            for p in pending:
                results[p.function.name] = [_case_result(p.function, i, devices, "skipped",
                                                         "not run: the submission used up its total time limit.")
                                            for i in p.insts]
            break
        runs, run_limits, owners, value = [], [], [], {}
        for p in pending:
            k = 0
            for inst in p.insts:
                if inst.error is None:
                    value[f"{p.function.name}/{inst.key}"] = inst.inputs
                for dev in devices:
                    runs.append({"key": f"{p.function.name}/{inst.key}", "device": dev, "function": p.function.name})
                    run_limits.append(p.run_limits[k])
                    owners.append(p)
                    k += 1
        limits = assignment.limits
        floor = options.case_seconds if options.case_seconds is not None else limits.case_seconds
        import_limit = max(floor, 2.0) * 2 * options.time_scale
        memory_mb = max(assignment.limits_for(p.function).memory_mb for p in pending)
        meta = {
            "module_name": module.name, "filename": module.filename, "source": module.source, "runs": runs,
            "banned": list(assignment.banned), "banned_ops": list(assignment.banned_ops),
            "limits": {"memory_mb": memory_mb, "open_files": limits.open_files,
                       "cpu_seconds": sum(run_limits) + import_limit + 5},
            # A folder submission may import its own helper modules; a single file may read only itself
            # (its folder may hold other students' files, e.g. in a batch).
            "sandbox": {"submission_dir": sub_dir if submission.kind == "folder" else None,
                        "read_roots": [sub_dir] if submission.kind == "folder" else [module.filename],
                        "deny_roots": deny, "confine": options.confine},
        }
        outcome = worker.run_job(meta, value, import_limit=import_limit, run_limits=run_limits,
                                 memory_mb=memory_mb, output_bytes=limits.output_bytes)
        text = _output_text(outcome)
        if text.strip():
            outputs.append((", ".join(p.function.name for p in pending), text))
        if not outcome.imported and not outcome.yielded_at:
            status, msg = _import_failure(outcome)
            for p in pending:
                results[p.function.name] = [_case_result(p.function, i, devices, status, msg) for i in p.insts]
            break
        # Where did the child stop? Everything up to that function is graded; the rest goes to a new child.
        missing = [i for i in range(len(runs)) if i not in outcome.results]
        stop_index = missing[0] if missing else None
        stop_owner = owners[stop_index] if stop_index is not None else None
        offset = 0
        still = []
        for p in pending:
            n = len(p.insts) * len(devices)
            if stop_owner is not None and (offset > stop_index or (outcome.yielded_at and offset == stop_index)):
                still.append(p)
            else:
                local = {i - offset: outcome.results[i] for i in range(offset, offset + n) if i in outcome.results}
                stopped_here = stop_owner is p
                results[p.function.name] = _verdicts(
                    assignment, p, local, outcome if stopped_here else None,
                    (stop_index - offset) if stopped_here else None, module, catalog, options)
            offset += n
        pending = still
    return results, outputs


def _verdicts(assignment: Assignment, plan: _Plan, results: dict, outcome: JobOutcome | None,
              stop_at: int | None, module: SourceModule, catalog: Catalog, options: Options) -> list[CaseResult]:
    """Turn one function's run results into case results (compare, mutation, banned, diagnosis)."""
    function = plan.function
    devices = options.devices
    limits = assignment.limits_for(function)
    names = catalog.arg_names(assignment, function)
    out: list[CaseResult] = []
    run_index = 0
    stop_note: tuple[str, str] | None = None
    for inst in plan.insts:
        dev_runs: list[DeviceRun] = []
        banned_names: list[str] = [f"{h.name} (line {h.line}: {h.text})" for h in plan.hits]
        violations: list[str] = []
        per_dev_got: dict[str, object] = {}
        first_fail = None  # (message, expected excerpt, got excerpt, diagnosis)
        seconds = 0.0
        variants = None
        for dev in devices:
            i = run_index
            run_index += 1
            if inst.error:
                dev_runs.append(DeviceRun(dev, "error", inst.error))
                continue
            if i not in results:
                if stop_note is None:
                    if outcome is not None and stop_at == i and outcome.stopped:
                        stop_note = _stopped_message(outcome, limits.memory_mb)
                    else:
                        desc = outcome.exit_description if outcome is not None else "ended (status unknown)"
                        stop_note = ("error", f"the process ended unexpectedly: {desc}.")
                    dev_runs.append(DeviceRun(dev, stop_note[0], stop_note[1]))
                    continue
                st = stop_note[0]
                dev_runs.append(DeviceRun(dev, st, f"not run after an earlier {'timeout' if st == 'timeout' else 'error'} "
                                                   "in this function."))
                continue
            rmeta, rval = results[i]
            seconds += float(rmeta.get("seconds") or 0.0)
            for h in rmeta.get("banned", []):
                where = f" (line {h['line']})" if h.get("line") and h.get("file") == module.filename else ""
                label = f"{h['name']}{where} at run time"
                if label not in banned_names:
                    banned_names.append(label)
            violations.extend(v for v in rmeta.get("violations", []) if v not in violations)
            status = rmeta.get("status")
            if status == "not_run":
                dev_runs.append(DeviceRun(dev, "error", "not run after an earlier error (out of memory) in this "
                                                        "function."))
                continue
            if status == "missing":
                dev_runs.append(DeviceRun(dev, "not_implemented",
                                          f"`{function.name}` is not defined after running your module."))
                continue
            if status == "not_implemented":
                dev_runs.append(DeviceRun(dev, "not_implemented", "not implemented yet (raises NotImplementedError).",
                                          seconds=rmeta.get("seconds")))
                continue
            if status in ("error", "oom"):
                prefix = "ran out of memory" if status == "oom" else "your code raised an exception"
                dev_runs.append(DeviceRun(dev, "error", f"{prefix}:\n{_format_error(rmeta.get('error'))}",
                                          seconds=rmeta.get("seconds")))
                if status == "oom":
                    stop_note = ("error", "ran out of memory")
                continue
            got = rval.get("out") if isinstance(rval, dict) else None
            per_dev_got[dev] = got
            tol = assignment.tolerance_for(function, inst.case, inst.dtype)
            mism = compare(inst.expected, got, tol=tol, check_device=dev.split(":")[0])
            mut = (_mutation(inst, rval.get("inputs") if isinstance(rval, dict) else None, names)
                   if function.check_unmodified else None)
            if not mism and not mut:
                dev_runs.append(DeviceRun(dev, "passed", "", seconds=rmeta.get("seconds")))
                continue
            msg_lines = [m.message for m in mism]
            if mut:
                msg_lines.append(mut)
            if dev != "cpu" and "cpu" in per_dev_got and not [r for r in dev_runs if r.status != "passed"]:
                if compare(per_dev_got["cpu"], got, tol=tol, check_dtype=False):
                    msg_lines.insert(0, f"device parity problem: your code passes on cpu but gives different "
                                        f"results on {dev}.")
            diag = None
            if mism:
                if variants is None:
                    if inst.variants is None:
                        inst.variants = variant_outputs(function, inst.call)
                    variants = inst.variants
                diag = diagnose(function, inst.inputs, inst.expected, got, mism, tol, variants)
            worst = mism[0] if mism else Mismatch("", "values", "")
            dev_runs.append(DeviceRun(dev, "failed", "\n".join(msg_lines), seconds=rmeta.get("seconds"),
                                      expected_excerpt=worst.expected_excerpt, got_excerpt=worst.got_excerpt))
            if first_fail is None:
                first_fail = ("\n".join(msg_lines), worst.expected_excerpt, worst.got_excerpt, diag)
        status = _worst([r.status for r in dev_runs])
        message, diag, exp_ex, got_ex = "", None, "", ""
        if status == "failed" and first_fail is not None:
            message, exp_ex, got_ex, diag = first_fail
        elif status != "passed":
            message = next(r for r in dev_runs if r.status == status).message
        if banned_names and status != "not_implemented":
            note = ("uses a routine you must write by hand: " + "; ".join(banned_names)
                    + ". This case earns no points; your instructor will review it.")
            message = note + ("\n" + message if message else "")
            status = "banned"
        if violations:
            message = (message + "\n" if message else "") + "sandbox: " + "; ".join(violations[:5])
        out.append(_case_result(function, inst, devices, status, message, diagnosis=diag, expected_excerpt=exp_ex,
                                got_excerpt=got_ex, banned=tuple(banned_names), violations=tuple(violations),
                                runs=tuple(dev_runs), seconds=round(seconds, 6)))
    return out


def _map(fn, items, jobs: int) -> list:
    """``[fn(x) for x in items]``, with up to ``jobs`` children running at once."""
    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(jobs, len(items)), thread_name_prefix="grade-job") as ex:
        return list(ex.map(fn, items))


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n} B"


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


def grade_submission(submission: Submission, catalog: Catalog, *, assignments: tuple[str, ...] = (),
                     worker: Worker, options: Options = Options()) -> GradeResult:
    """Grade ``submission`` against ``catalog``.

    Args:
        submission: what :func:`grader.loader.load_submission` returned.
        catalog: the assignments and references.
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
        message = ""
        if module is None:
            message = f"no {a.id}.py (or {a.id}.ipynb) in {submission.path}. Name your file after the assignment."
            for f in a.functions:
                for inst in catalog.instances(a, f, include_hidden=options.include_hidden):
                    cases.append(_case_result(f, inst, options.devices, "not_implemented", f"{a.id}.py was not found."))
        else:
            if module.syntax_error:
                message = module.syntax_error
            cases, outputs = _grade_assignment(a, module, submission, catalog, worker, options, deadline,
                                               parallel=max(1, options.jobs // max(1, len(selected))))
        return AssignmentResult(id=a.id, title=a.title, status=_assignment_status(cases, module),
                                score=sum(c.score for c in cases), max_score=sum(c.max_score for c in cases),
                                cases=tuple(cases), message=message,
                                output=tuple((f, t[-4000:]) for f, t in outputs),
                                source_file=module.filename if module else "")

    results = _map(grade_one, selected, options.jobs)
    return GradeResult(
        submission=str(submission.path),
        score=sum(r.score for r in results), max_score=sum(r.max_score for r in results),
        assignments=tuple(results), devices=tuple(options.devices), seconds=time.monotonic() - t0,
        graded_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        versions={"grade": __version__, "torch": torch.__version__},
        kit=getattr(catalog, "kit_info", None),
    )
