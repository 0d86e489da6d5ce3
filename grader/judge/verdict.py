"""From the evidence of one instance to its :class:`~grader.results.CaseResult`.

The checks, in order, per device: did it run (stopped, crashed, raised,
not implemented); the output's structure, shape, dtype, device and values
(:mod:`grader.judge.compare`) — or, for a random case, its form and its
properties (:mod:`grader.judge.properties`), or, for a trajectory case, the
first step where it parts from the reference's
(:mod:`grader.judge.trajectory`); inputs left unmodified (read back from
grader-side memory by the session); banned calls (the static scan and the
run-time guard). A case earns its points only if it passes on every device.

Then, for a failing case, the likely mistake (:mod:`grader.judge.diagnose`)
and, for a failing backward function, what the gradient check says about
where the error is.

Hidden cases never show values: no expected or received excerpts, no
exception messages (only their type and line), no parameter values of
trajectories — a hidden case's inputs and answers stay hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.catalog.instances import Instance, variant_results
from grader.judge import compare as cmp
from grader.judge.diagnose import diagnose
from grader.judge.runner import DeviceEvidence, InstanceEvidence
from grader.results import CaseResult, DeviceRun, Diagnosis
from grader.sandbox.worker import describe_exit
from grader.spec import Assignment, Function, Tolerance
from grader.status import Status, worst

__all__ = ["VerdictContext", "case_result", "early_result", "function_results"]

_FORM_KINDS = ("structure", "shape", "dtype", "device", "nonfinite")


@dataclass
class VerdictContext:
    """What judging needs besides the evidence.

    Attributes:
        assignment / function: the spec.
        devices: devices every case ran on.
        names: the function's parameter names (for "modified its input `x`").
        static_hits: banned names the static scan found reaching this function.
        where: ``where(line) -> "cell 4, line 3"`` for a line of the submission's joined source.
        locate: ``locate(file, line) -> "cell 4, line 3"`` for a line of a file the student's code ran
            as (run-time banned calls), or None when it is not the student's.
        memory_mb: the memory limit (for messages).
    """

    assignment: Assignment
    function: Function
    devices: tuple
    names: list = field(default_factory=list)
    static_hits: list = field(default_factory=list)
    where: Any = None
    locate: Any = None
    memory_mb: int = 0


def early_result(function: Function, inst: Instance, devices, status: str, message: str) -> CaseResult:
    """A case decided without running it (syntax error, function not defined, time budget spent)."""
    return CaseResult(id=inst.case.id, function=function.name, dtype=inst.dtype, device=",".join(devices),
                      status=Status(status), score=inst.points if status == "passed" else 0.0,
                      max_score=inst.points, message=message, description=inst.case.description,
                      hidden=inst.case.hidden)


# --------------------------------------------------------------------------- messages


def _stop_message(stop, memory_mb: int) -> tuple[Status, str]:
    if stop.reason == "timeout":
        return Status.TIMEOUT, stop.detail
    if stop.reason == "tamper":
        return Status.BANNED, (f"{stop.detail}. The case earns no points; your instructor will review it.")
    if stop.reason == "protocol":
        return Status.BANNED, (f"{stop.detail}. This looks like tampering with the grader; the case earns no points "
                               "and your instructor will review it.")
    if stop.reason in ("memory", "output", "budget"):
        return Status.ERROR, stop.detail
    return Status.ERROR, f"the process ended unexpectedly: {describe_exit(stop.exit_status)}."


def _format_error(err, hidden: bool) -> str:
    if err is None:
        return "your code raised an error"
    tb = err.traceback or f"{err.type}: {err.message}"
    if not hidden:
        return tb.strip()
    frames = [ln for ln in tb.splitlines() if ln.lstrip().startswith("File ")]
    return "\n".join([*frames, f"{err.type} (the message is not shown for hidden cases)"]).strip()


def _arg_label(path: tuple, names: list) -> str:
    if not path:
        return "an input"
    head, rest = path[0], path[1:]
    if head == "args" and rest:
        i = rest[0]
        name = f"`{names[i]}`" if isinstance(i, int) and i < len(names) else f"argument {i}"
        rest = rest[1:]
    elif head == "kwargs" and rest:
        name = f"`{rest[0]}`"
        rest = rest[1:]
    else:
        name = "an input"
    return name + "".join(f"[{r!r}]" for r in rest)


def _mutation_message(modified: tuple, names: list) -> str | None:
    if not modified:
        return None
    what = ", ".join(_arg_label(p, names) for p in modified[:3])
    return (f"Your function modified its input {what} in place. Inputs must stay unchanged: work on a copy "
            "(x = x.clone()) or use out-of-place ops (x = x - m instead of x -= m).")


def _hidden_values_message(m) -> str:
    if m.kind in ("structure", "shape", "dtype", "device"):
        return m.message
    if m.n_total:
        return (f"{m.path}: {m.n_differ} of {m.n_total} values are wrong (worst relative error {m.max_rel:.3g}); "
                "values are not shown for hidden cases.")
    return f"{m.path}: the value is wrong; values are not shown for hidden cases."


# --------------------------------------------------------------------------- kinds


def _plain(ctx, inst, ev: DeviceEvidence, got, tol, hidden, per_dev_got, dev_runs):
    mism = cmp.compare(inst.expected, got, tol=tol, check_device=ev.device.split(":")[0])
    if not mism:
        return None, []
    lines = [(_hidden_values_message(m) if hidden else m.message) for m in mism]
    if ev.device != "cpu" and "cpu" in per_dev_got and not [r for r in dev_runs if r.status != "passed"]:
        if cmp.matches(per_dev_got["cpu"], got, tol=tol):
            lines.insert(0, f"device parity problem: your code passes on cpu but gives different results on "
                            f"{ev.device}.")
    return mism, lines


def _random(ctx, inst, ev: DeviceEvidence, hidden):
    outputs = [r.output for r in ev.reports]
    lines, mism = [], []
    for k, out in enumerate(outputs):
        for m in cmp.compare(inst.expected, out, tol=Tolerance(0.0, 0.0), check_device=ev.device.split(":")[0]):
            if m.kind in _FORM_KINDS:
                mism.append(m)
                lines.append(m.message if k == 0 else f"call {k + 1}: {m.message}")
    if mism:
        return mism, lines, []
    raw_in = inst.inputs
    outcomes = [p.evaluate(outputs, tuple(raw_in.get("args", ())), dict(raw_in.get("kwargs", {})))
                for p in inst.properties]
    lines = [f"property '{o.title}' fails: {o.message}" for o in outcomes if not o.ok]
    return [], lines, outcomes


def _random_diagnosis(function: Function, inst: Instance, outcomes) -> Diagnosis | None:
    failed = {o.property: o for o in outcomes if not o.ok}
    if not failed:
        return None
    props = {p.id: p for p in inst.properties}
    for m in function.mistakes:
        vo = variant_results(function, inst).get(m.id)
        if not vo:
            continue
        vfailed = {o.property: o for o in vo if not o.ok}
        if set(vfailed) != set(failed):
            continue
        if all(props[k].agrees(failed[k], vfailed[k]) for k in failed if k in props):
            return Diagnosis(id=m.id, title=m.title or m.id.replace("_", " "), hint=m.hint,
                             evidence="Your outputs fail the same properties as this known mistake, with the same "
                                      "statistics.")
    return None


def _trajectory(inst, ev: DeviceEvidence, tol, hidden):
    from grader.judge import trajectory as tj

    got = ev.trajectory
    if got is None:
        return None, ["the trajectory did not complete"]
    parting = tj.part(inst.expected, got, rtol=tol.rtol, atol=tol.atol, param=inst.case.trajectory.param)
    if parting.step is None:
        return parting, []
    if hidden:
        return parting, [f"your trajectory parts from the reference at step {parting.step} of "
                         f"{len(inst.expected.params)} (values are not shown for hidden cases)."]
    return parting, [parting.message + "."]


def _trajectory_diagnosis(function: Function, inst: Instance, got, tol) -> Diagnosis | None:
    from grader.judge import trajectory as tj

    if got is None:
        return None
    loose = Tolerance(rtol=max(tol.rtol * 10, 1e-6), atol=max(tol.atol * 10, 1e-8))
    for m in function.mistakes:
        run = variant_results(function, inst).get(m.id)
        if run is None or run.error:
            continue
        if tj.part(inst.expected, run, rtol=tol.rtol, atol=tol.atol).step is None:
            continue
        if tj.part(run, got, rtol=loose.rtol, atol=loose.atol).step is None:
            return Diagnosis(id=m.id, title=m.title or m.id.replace("_", " "), hint=m.hint,
                             evidence="Your trajectory follows this known mistake's, step for step.")
    return None


def _series(inst: Instance, got) -> dict | None:
    exp = inst.expected
    if got is None or not getattr(exp, "losses", None):
        return None
    n = len(exp.losses)
    stride = max(1, n // 400)
    idx = list(range(0, n, stride))
    return {"title": inst.case.trajectory.objective.title, "steps": [i + 1 for i in idx],
            "reference": [float(exp.losses[i]) for i in idx],
            "yours": [float(got.losses[i]) for i in idx if i < len(got.losses)],
            "start": float(exp.start_loss)}


def _axis_lines(function: Function, expected, got, tol) -> list[str]:
    """For each named :class:`grader.spec.Axis` of a failing output: where along it the result first differs."""
    import numpy as np

    from grader.judge.properties import value_at
    from grader.sandbox.wire import Array

    lines = []
    for ax in getattr(function, "axes", ()) or ():
        try:
            e, g = value_at(expected, ax.path), value_at(got, ax.path)
        except LookupError:
            continue
        if not (isinstance(e, Array) and isinstance(g, Array)) or e.shape != g.shape or e.data.ndim <= ax.axis:
            continue
        ev, gv = e.data.astype(np.float64), g.data.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            ok = (np.abs(gv - ev) <= tol.atol + tol.rtol * np.abs(np.where(np.isfinite(ev), ev, 0.0))) | \
                (np.isnan(ev) & np.isnan(gv)) | (np.isinf(ev) & (ev == gv))
        other = tuple(i for i in range(ok.ndim) if i != ax.axis)
        bad = ~ok.all(axis=other) if other else ~ok  # (length of the axis,)
        if not bad.any():
            continue
        n = bad.size
        where = "" if not ax.path else f"output{''.join(f'[{p!r}]' for p in ax.path)}"
        what = where or "the output"
        if bad.all():
            lines.append(f"{what} differs at every {ax.name} (all {n}).")
            continue
        order = list(range(n - 1, -1, -1)) if ax.backward else list(range(n))
        first_bad = next(i for i in order if bad[i])
        agree = [i for i in order[:order.index(first_bad)]]
        if ax.backward:
            tail = (f"agrees at {ax.name}{'s' if len(agree) > 1 else ''} {_span(agree)} and first differs at "
                    f"{ax.name} {first_bad}, counting back from the last {ax.name} ({n - 1})" if agree else
                    f"already differs at the last {ax.name} ({n - 1})")
        else:
            tail = (f"agrees at {ax.name}{'s' if len(agree) > 1 else ''} {_span(agree)} and first differs at "
                    f"{ax.name} {first_bad}" if agree else f"already differs at {ax.name} 0")
        lines.append(f"{what} {tail} (of {n} {ax.name}s; {int(bad.sum())} differ).")
    return lines


def _span(idx: list) -> str:
    idx = sorted(idx)
    return f"{idx[0]}–{idx[-1]}" if len(idx) > 2 else " and ".join(map(str, idx))


def _prefix_line(function: Function, prefix, hidden: bool) -> str | None:
    if prefix is None:
        return None
    k, n, item = prefix
    name = function.prefixes.name
    text = (f"Your result first differs from the reference's once {name} {k} of {n} is included "
            f"(with only the first {k - 1} {name}{'s' if k - 1 != 1 else ''} it agrees)." if k > 1 else
            f"Your result already differs on {name} 1 alone.")
    if not hidden:
        shown = ", ".join(_short(x) for x in item)
        text += f" {name.capitalize()} {k}: {shown}"
    return text


def _short(v, limit: int = 160) -> str:
    r = repr(v)
    return r if len(r) <= limit else r[:limit - 3] + "..."


def _gradcheck_note(gev) -> str | None:
    if gev is None:
        return None
    if gev.skipped:
        return f"Gradient check skipped: {gev.skipped}."
    rep = gev.report
    if rep is None:
        return None
    fwd = f"your `{gev.forward}`" if gev.forward else "the forward"
    if not rep.consistent:
        return f"Gradient check: your backward is wrong for {fwd} — {rep.message}."
    if gev.forward_agrees is False:
        return (f"Gradient check: your backward matches {fwd} (worst relative error {rep.worst:.1g}), but "
                f"{fwd} is wrong on these inputs: fix the forward first; the backward will follow it.")
    return (f"Gradient check: your backward and {fwd} agree with each other (worst relative error "
            f"{rep.worst:.1g}), but not with the reference: check what is differentiated and how it is "
            "scaled (a mean over the batch? the right variable?).")


# --------------------------------------------------------------------------- one case


def case_result(ctx: VerdictContext, iev: InstanceEvidence) -> CaseResult:
    """Judge one instance on every device it ran on."""
    inst, function = iev.inst, ctx.function
    hidden = inst.case.hidden
    tol = ctx.assignment.tolerance_for(function, inst.case, inst.dtype)
    where = ctx.where or (lambda line: f"line {line}")
    banned_names = [f"{h.name} ({where(h.line)}: {h.text})" for h in ctx.static_hits]
    violations: list[str] = []
    dev_runs: list[DeviceRun] = []
    per_dev_got: dict[str, Any] = {}
    first_fail = None  # (message, expected excerpt, got excerpt, diagnosis)
    notes: list[str] = []
    properties: list[dict] = []
    series = None
    seconds = 0.0
    for ev in iev.devices:
        dev = ev.device
        if inst.error:
            dev_runs.append(DeviceRun(dev, Status.ERROR, inst.error))
            continue
        if ev.not_run is not None:
            if ev.not_run == "tamper":
                dev_runs.append(DeviceRun(dev, Status.BANNED, "not run: the grader's guard was modified earlier in "
                                                              "this function; your instructor will review it."))
                continue
            st = Status.TIMEOUT if ev.not_run == "timeout" else Status.ERROR
            dev_runs.append(DeviceRun(dev, st, f"not run after an earlier {'timeout' if st is Status.TIMEOUT else 'error'}"
                                               " in this function."))
            continue
        reps = ev.reports
        seconds += sum(r.seconds for r in reps)
        for r in reps:
            for h in r.hits:
                if h.how == "tamper":  # "<the grader's guard was modified>: what was seen"
                    label = f"{TAMPER_LABEL}: {h.name.split(': ', 1)[-1]}" if ": " in h.name else TAMPER_LABEL
                else:
                    loc = ctx.locate(h.file, h.line) if ctx.locate and h.line else None
                    label = f"{h.name}{f' ({loc})' if loc else ''} at run time"
                if label not in banned_names:
                    banned_names.append(label)
            violations.extend(v for v in r.violations if v not in violations)
        bad = next((r for r in reps if r.status != "ok"), None)
        if ev.stop is not None and bad is None:
            st, msg = _stop_message(ev.stop, ctx.memory_mb)
            dev_runs.append(DeviceRun(dev, st, msg))
            continue
        if bad is not None:
            if bad.status == "not_run":
                dev_runs.append(DeviceRun(dev, Status.ERROR, "not run after an earlier error (out of memory) in this "
                                                             "function."))
            elif bad.status == "missing":
                dev_runs.append(DeviceRun(dev, Status.NOT_IMPLEMENTED,
                                          f"`{function.name}` is not defined after running your module."))
            elif bad.status == "not_implemented":
                dev_runs.append(DeviceRun(dev, Status.NOT_IMPLEMENTED,
                                          "not implemented yet (raises NotImplementedError).", seconds=bad.seconds))
            else:
                prefix = "ran out of memory" if bad.status == "oom" else "your code raised an exception"
                step = ""
                if inst.kind == "trajectory" and ev.trajectory is not None and ev.trajectory.stopped_at:
                    step = f" at step {ev.trajectory.stopped_at} of the trajectory"
                dev_runs.append(DeviceRun(dev, Status.ERROR, f"{prefix}{step}:\n{_format_error(bad.error, hidden)}",
                                          seconds=bad.seconds))
            continue
        if not reps:
            dev_runs.append(DeviceRun(dev, Status.ERROR, "no result came back from your code."))
            continue
        msg_lines: list[str] = []
        mism: list = []
        diag = None
        if inst.kind == "trajectory":
            parting, msg_lines = _trajectory(inst, ev, tol, hidden)
            if not hidden and series is None:
                series = _series(inst, ev.trajectory)
                if series is not None and parting is not None:
                    series["parted_at"] = parting.step
            if msg_lines:
                diag = _trajectory_diagnosis(function, inst, ev.trajectory, tol)
        elif inst.kind == "random":
            mism, msg_lines, outcomes = _random(ctx, inst, ev, hidden)
            if outcomes and not properties:
                properties = [o.to_data() for o in outcomes]
            if msg_lines and not mism:
                diag = _random_diagnosis(function, inst, outcomes)
        else:
            got = reps[-1].output
            per_dev_got[dev] = got
            mism, msg_lines = _plain(ctx, inst, ev, got, tol, hidden, per_dev_got, dev_runs)
            mism = mism or []
            if mism:
                diag = diagnose(function, inst.inputs, inst.expected, got, mism, tol, variant_results(function, inst))
                msg_lines.extend(_axis_lines(function, inst.expected, got, tol))
                pline = _prefix_line(function, iev.prefix, hidden) if dev == "cpu" else None
                if pline:
                    msg_lines.append(pline)
            elif hasattr(cmp, "scale_note"):
                note = cmp.scale_note(inst.expected, got, tol=tol)
                if note and note not in notes:
                    notes.append(note)
        mut = _mutation_message(ev.modified, ctx.names) if function.check_unmodified else None
        if mut:
            msg_lines.append(mut)
        if not msg_lines:
            dev_runs.append(DeviceRun(dev, Status.PASSED, "", seconds=sum(r.seconds for r in reps)))
            continue
        worst_m = mism[0] if mism else None
        exp_ex = "" if hidden or worst_m is None else worst_m.expected_excerpt
        got_ex = "" if hidden or worst_m is None else worst_m.got_excerpt
        dev_runs.append(DeviceRun(dev, Status.FAILED, "\n".join(msg_lines), seconds=sum(r.seconds for r in reps),
                                  expected_excerpt=exp_ex, got_excerpt=got_ex))
        if first_fail is None:
            first_fail = ("\n".join(msg_lines), exp_ex, got_ex, diag)
    status = worst(r.status for r in dev_runs) if dev_runs else Status.SKIPPED
    message, diag, exp_ex, got_ex = "", None, "", ""
    if status is Status.FAILED and first_fail is not None:
        message, exp_ex, got_ex, diag = first_fail
        gnote = _gradcheck_note(iev.gradcheck)
        if gnote:
            notes.append(gnote)
    elif status is not Status.PASSED:
        message = next(r.message for r in dev_runs if r.status == status)
    if banned_names and status is not Status.NOT_IMPLEMENTED:
        tampering = [b[len(TAMPER_LABEL) + 2:] for b in banned_names if b.startswith(TAMPER_LABEL + ": ")]
        routines = [b for b in banned_names if not b.startswith(TAMPER_LABEL)]
        parts = []
        if routines:
            parts.append("uses a routine you must write by hand: " + "; ".join(routines))
        if tampering or len(routines) < len(banned_names):
            parts.append("the grader's guard was modified while your code ran"
                         + (f" ({'; '.join(tampering)})" if tampering else ""))
        note = "; and ".join(parts) + ". This case earns no points; your instructor will review it."
        message = note + ("\n" + message if message else "")
        status = Status.BANNED
    if violations:
        message = (message + "\n" if message else "") + "sandbox: " + "; ".join(violations[:5])
    if status is Status.PASSED:
        notes = [n for n in notes if not n.startswith("Gradient check")]
    return CaseResult(id=inst.case.id, function=function.name, dtype=inst.dtype, device=",".join(ctx.devices),
                      status=status, score=inst.points if status is Status.PASSED else 0.0, max_score=inst.points,
                      message=message, diagnosis=diag, description=inst.case.description, hidden=hidden,
                      expected_excerpt=exp_ex, got_excerpt=got_ex, banned=tuple(banned_names),
                      violations=tuple(violations), runs=tuple(dev_runs), seconds=round(seconds, 6),
                      notes=tuple(notes), properties=tuple(properties), series=series)



#: How a tamper hit of the run-time guard is labelled in a case's list of banned calls.
TAMPER_LABEL = "the grader's guard was modified"


def function_results(ctx: VerdictContext, evidence: list[InstanceEvidence]) -> list[CaseResult]:
    """Judge every instance of one function, then name each failing case's mistake with the evidence of
    all its cases (:func:`grader.judge.diagnose.reconcile`: where two known mistakes fit one case, the one
    the other cases agree with)."""
    import dataclasses

    from grader.judge.diagnose import Evidence, reconcile

    cases = [case_result(ctx, iev) for iev in evidence]
    plain = [(i, iev) for i, iev in enumerate(evidence) if iev.inst.kind == "plain" and not iev.inst.error]
    if not ctx.function.mistakes or not any(cases[i].diagnosis for i, _ in plain):
        return cases
    items = []
    for i, iev in plain:
        cpu = next((e for e in iev.devices if e.device == "cpu"), None)
        got = cpu.output if cpu is not None else None
        items.append(Evidence(expected=iev.inst.expected, got=got, has_output=got is not None,
                              tol=ctx.assignment.tolerance_for(ctx.function, iev.inst.case, iev.inst.dtype),
                              variants=variant_results(ctx.function, iev.inst), diagnosis=cases[i].diagnosis))
    for (i, _), diag in zip(plain, reconcile(ctx.function, items)):
        if cases[i].status is Status.FAILED and diag is not None and diag != cases[i].diagnosis:
            cases[i] = dataclasses.replace(cases[i], diagnosis=diag)
    return cases
