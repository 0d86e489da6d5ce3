"""Run one function's cases in a sandbox session and collect the evidence.

For each instance (a case in one dtype) and device, :func:`run_function`
sends the runs that instance needs, one at a time, through a
:class:`~grader.sandbox.session.Session`:

* a plain case: one run;
* a random case: ``repeats`` runs, each with its own seed of torch's
  default generator;
* a trajectory case: one run per step, each step's inputs built by the
  grader from the previous step's output and the objective's gradient
  (:func:`grader.judge.trajectory.drive`);
* and, for a failing backward case in float64 on the CPU, the gradient
  check's probes: the student's own forward at ``x ± h d``
  (:mod:`grader.judge.gradcheck`).

Limits are set here, per instance, from the reference's own time: CPU
seconds ``(floor + factor × reference time) × time_scale`` (plus a grace on
the first call of each function in a fresh process: lazy imports and
caches cost a student at home too), and a wall-clock deadline of three
times that plus five seconds. Nothing is judged here: that is
:mod:`grader.judge.verdict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.catalog.instances import Instance
from grader.sandbox.session import RunOutcome, Session, Stop
from grader.sandbox.wire import roundtrip

__all__ = ["Limits", "DeviceEvidence", "GradEvidence", "InstanceEvidence", "run_function", "FIRST_CALL_GRACE"]

FIRST_CALL_GRACE = 5.0  # seconds added to the first call of each function in a process (CPU and wall)


@dataclass(frozen=True)
class Limits:
    """How long an instance may take: CPU seconds and wall seconds (for all of its runs)."""

    cpu: float
    wall: float


def instance_limits(inst: Instance, *, floor: float, factor: float, time_scale: float, device: str,
                    first: bool) -> Limits:
    """The limits of one instance on one device (see the module docs)."""
    runs = max(1, len(inst.call_seeds))
    cpu = (floor + factor * inst.ref_seconds * runs) * time_scale
    if inst.kind == "trajectory":
        cpu += floor * time_scale  # one more floor for the grader's own per-step work in the child
    wall = 3.0 * cpu + 5.0 + (5.0 if device != "cpu" else 0.0)
    if first:
        grace = FIRST_CALL_GRACE * time_scale
        cpu, wall = cpu + grace, wall + grace
    return Limits(cpu=cpu, wall=wall)


@dataclass
class DeviceEvidence:
    """What happened to one instance on one device.

    Attributes:
        device: ``"cpu"`` / ``"cuda"``.
        outcomes: one per run (plain: 1; random: ``repeats``; trajectory: one per step).
        stop: why the process was stopped during this instance, or None.
        not_run: why it was not run at all ("not run after an earlier timeout..."), or None.
        trajectory: the student's trajectory (trajectory cases).
        limits: the limits it ran under.
    """

    device: str
    outcomes: list = field(default_factory=list)
    stop: Stop | None = None
    not_run: str | None = None
    trajectory: Any = None
    limits: Limits | None = None

    @property
    def reports(self) -> list:
        return [o.report for o in self.outcomes if o.report is not None]

    @property
    def cpu_seconds(self) -> float:
        return sum(o.cpu_seconds for o in self.outcomes)

    @property
    def modified(self) -> tuple:
        seen = []
        for o in self.outcomes:
            for p in o.modified:
                if p not in seen:
                    seen.append(p)
        return tuple(seen)

    @property
    def output(self) -> Any:
        """The (last) output of a plain or random case; None when no run completed ok."""
        reps = self.reports
        return reps[-1].output if reps and reps[-1].status == "ok" else None


@dataclass
class GradEvidence:
    """The gradient check of one failing backward case.

    Attributes:
        report: :class:`grader.judge.gradcheck.GradReport`, or None when skipped.
        skipped: why it was skipped ("`conv2d_forward` is not implemented yet"), or "".
        forward_agrees: whether the student's forward agrees with the reference's at the
            case's point (None when unknown or the forward is the spec's own).
        forward: the forward's name, or "" for a trusted forward.
    """

    report: Any = None
    skipped: str = ""
    forward_agrees: bool | None = None
    forward: str = ""


@dataclass
class InstanceEvidence:
    """Everything the runs of one instance produced.

    ``prefix`` (a failing case of a function with :class:`grader.spec.Prefixes`):
    ``(k, n, item)``: the student's result first parts from the reference's when the
    list inputs are cut to their first ``k`` of ``n`` items; ``item`` shows item k.
    """

    inst: Instance
    devices: list = field(default_factory=list)
    gradcheck: GradEvidence | None = None
    prefix: tuple | None = None


@dataclass
class Context:
    """What :func:`run_function` needs besides the session.

    Attributes:
        devices: devices every instance runs on.
        floor / factor / time_scale: the time-limit parameters.
        reference: the reference module (the reference forward for gradient checks), or None in a kit.
        failing: ``failing(inst, output) -> bool``: whether a backward case's output fails (only
            failing backward cases get a gradient check).
        arg_names: the function's parameter names (the contract's), to find trajectory arguments.
        failing_values: ``failing_values(inst, expected, output) -> bool`` for outputs of probe calls.
    """

    devices: tuple
    floor: float
    factor: float
    time_scale: float
    reference: Any = None
    failing: Any = None
    arg_names: Any = None
    failing_values: Any = None


def _inputs_of(call) -> dict:
    return roundtrip({"args": tuple(call.args), "kwargs": dict(call.kwargs)})


def _run_one(session: Session, name: str, inst: Instance, dev: str, inputs, seed: int, budget: dict) -> RunOutcome:
    out = session.run(function=name, device=dev, inputs=inputs, seed=seed, cpu_limit=max(budget["cpu"], 0.05),
                      wall_limit=max(budget["wall"], 0.5), hidden=inst.case.hidden)
    budget["cpu"] -= out.cpu_seconds
    budget["wall"] -= out.wall_seconds
    return out


def _drive_trajectory(session: Session, name: str, inst: Instance, dev: str, ev: DeviceEvidence, budget: dict,
                      names: list):
    """Run a trajectory case: the child drives the student's update rule for every step (the objective is
    data) and returns the whole run; the grader recomputes every loss from the returned parameters and
    compares the run with the reference's. Returns the :class:`~grader.judge.trajectory.Run` (None when
    no run came back)."""
    from grader.judge import trajectory as tj
    from grader.kit.payload import trajectory_data

    traj = inst.case.trajectory
    out = session.run(function=name, device=dev, inputs=inst.inputs, seed=0, cpu_limit=max(budget["cpu"], 0.05),
                      wall_limit=max(budget["wall"], 0.5), hidden=inst.case.hidden,
                      trajectory={"spec": trajectory_data(traj), "names": list(names)})
    ev.outcomes.append(out)
    if out.report is None:
        ev.stop = out.stop
        return None
    if out.report.status not in ("ok", "error") or not isinstance(out.report.output, dict):
        return None
    try:
        run = tj.Run.from_data(out.report.output)
    except (KeyError, TypeError, ValueError):
        return None
    import numpy as np

    params = tuple(np.asarray(p, dtype=np.float64).reshape(-1) for p in run.params[:traj.steps])
    losses = tuple(traj.objective.loss(p) if np.isfinite(p).all() else float("nan") for p in params)
    return tj.Run(params=params, losses=losses, start_loss=inst.expected.start_loss, error=run.error[:300],
                  stopped_at=run.stopped_at, states=run.states[:traj.steps])


def run_function(session: Session, function, insts: list, ctx: Context, *, first: bool) -> tuple[list, Stop | None]:
    """Run every instance of ``function`` in ``session``; return (evidence per instance, the stop, if any).

    After the process is stopped (timeout, memory, crash, protocol), the
    function's remaining instances are not run ("not run after an earlier
    ..."): the engine grades the functions after it in a fresh process.
    """
    evidence: list[InstanceEvidence] = []
    stopped: Stop | None = None
    prefix_probes = 2  # failing cases of this function that get a prefix search
    for inst in insts:
        iev = InstanceEvidence(inst)
        evidence.append(iev)
        for dev in ctx.devices:
            ev = DeviceEvidence(dev)
            iev.devices.append(ev)
            if inst.error:
                continue
            if stopped is not None:
                ev.not_run = stopped.reason
                continue
            lim = instance_limits(inst, floor=ctx.floor, factor=ctx.factor, time_scale=ctx.time_scale, device=dev,
                                  first=first)
            first = False
            ev.limits = lim
            budget = {"cpu": lim.cpu, "wall": lim.wall}
            if inst.kind == "trajectory":
                ev.trajectory = _drive_trajectory(session, function.name, inst, dev, ev, budget,
                                                  list(ctx.arg_names or ()))
            else:
                for seed in inst.call_seeds:
                    out = _run_one(session, function.name, inst, dev, inst.inputs, seed, budget)
                    ev.outcomes.append(out)
                    if out.report is None:
                        ev.stop = out.stop
                        break
                    if out.report.status != "ok":
                        break
            if ev.stop is not None:
                stopped = ev.stop
        if stopped is None and function.gradcheck is not None and inst.case.gradcheck and inst.dtype == "float64" \
                and inst.kind == "plain":
            cpu_ev = next((e for e in iev.devices if e.device == "cpu"), None)
            if cpu_ev is not None and cpu_ev.output is not None and ctx.failing is not None \
                    and ctx.failing(inst, cpu_ev.output):
                iev.gradcheck, stop = _gradcheck(session, function, inst, cpu_ev, ctx)
                if stop is not None:
                    stopped = stop
        if stopped is None and function.prefixes is not None and prefix_probes and inst.kind == "plain" \
                and inst.call is not None and ctx.reference is not None:
            cpu_ev = next((e for e in iev.devices if e.device == "cpu"), None)
            if cpu_ev is not None and cpu_ev.output is not None and ctx.failing is not None \
                    and ctx.failing(inst, cpu_ev.output):
                prefix_probes -= 1
                iev.prefix, stop = _prefix_search(session, function, inst, cpu_ev, ctx)
                if stop is not None:
                    stopped = stop
    return evidence, stopped


def _prefix_search(session: Session, function, inst: Instance, cpu_ev: DeviceEvidence, ctx: Context):
    """Cut the case's list inputs to their first k items, k = 1, 2, ...; the first k where the student's
    result parts from the reference's (see :class:`grader.spec.Prefixes`)."""
    from grader.catalog.instances import call_seeded
    from grader.spec import Call

    pf = function.prefixes
    call = inst.call
    try:
        n = min(len(call.args[i]) for i in pf.args)
    except (IndexError, TypeError):
        return None, None
    ref_fn = getattr(ctx.reference, function.name, None)
    if ref_fn is None or n < 2:
        return None, None
    budget = {"cpu": cpu_ev.limits.cpu * 2 + 5.0 * ctx.time_scale, "wall": cpu_ev.limits.wall * 2 + 10.0}
    for k in range(1, min(n, pf.max_items) + 1):
        args = list(call.args)
        for i in pf.args:
            args[i] = args[i][:k]
        c = Call(tuple(args), dict(call.kwargs))
        try:
            expected = roundtrip(call_seeded(ref_fn, c))
        except Exception:  # noqa: BLE001 - a prefix the reference does not take: try the next
            continue
        o = _run_one(session, function.name, inst, "cpu", _inputs_of(c), 0, budget)
        if o.report is None:
            return None, o.stop
        if o.report.status != "ok" or ctx.failing_values(inst, expected, o.report.output):
            item = tuple(call.args[i][k - 1] for i in pf.args)
            return (k, n, item), None
    return None, None


def _gradcheck(session: Session, function, inst: Instance, cpu_ev: DeviceEvidence, ctx: Context):
    """Probe the student's forward (or the spec's trusted one) around the case's point."""
    from grader.judge import gradcheck as gck
    from grader.judge.compare import matches

    gc = function.gradcheck
    if inst.call is None:
        return GradEvidence(skipped="the gradient check needs the instructor's copy (it is not in the student kit)"), \
            None
    try:
        probes = gck.probes(gc, inst.call, seed=inst.seed)
    except Exception as e:  # noqa: BLE001 - a spec bug must not cost the student
        return GradEvidence(skipped=f"the gradient check could not be set up ({type(e).__name__})"), None
    names = gck_names(gc, ctx)
    if gc.trusted is not None:
        try:
            outs = gck.run_trusted(gc.trusted, probes)
        except Exception as e:  # noqa: BLE001
            return GradEvidence(skipped=f"the gradient check failed ({type(e).__name__})"), None
        return GradEvidence(report=gck.judge(probes, cpu_ev.output, outs, names=names)), None
    budget = {"cpu": cpu_ev.limits.cpu * 2 + 5.0 * ctx.time_scale, "wall": cpu_ev.limits.wall * 2 + 10.0}
    outs = []
    base_out = None
    for i, c in enumerate([probes.base, *probes.calls()]):
        o = _run_one(session, gc.forward, inst, "cpu", _inputs_of(c), 0, budget)
        if o.report is None:
            return GradEvidence(skipped=f"the gradient check stopped: {o.stop.detail if o.stop else 'no result'}",
                                forward=gc.forward), o.stop
        if o.report.status in ("missing", "not_implemented"):
            return GradEvidence(skipped=f"`{gc.forward}` is not implemented yet, so your backward could not be "
                                        "checked against it", forward=gc.forward), None
        if o.report.status != "ok":
            return GradEvidence(skipped=f"your `{gc.forward}` raised an error on the check's inputs",
                                forward=gc.forward), None
        if i == 0:
            base_out = o.report.output
        else:
            outs.append(o.report.output)
    agrees = None
    if ctx.reference is not None and base_out is not None:
        try:
            from grader.catalog.instances import call_seeded
            from grader.spec import DEFAULT_TOLERANCES

            ref = roundtrip(call_seeded(getattr(ctx.reference, gc.forward), probes.base))
            agrees = matches(ref, base_out, tol=DEFAULT_TOLERANCES["float64"])
        except Exception:  # noqa: BLE001
            agrees = None
    return GradEvidence(report=gck.judge(probes, cpu_ev.output, outs, names=names), forward_agrees=agrees,
                        forward=gc.forward), None


def gck_names(gc, ctx: Context) -> list:
    """Parameter names of the gradient check's forward (for messages about positional arguments)."""
    import inspect

    fn = gc.trusted
    if fn is None and ctx.reference is not None:
        fn = getattr(ctx.reference, gc.forward, None)
    try:
        return list(inspect.signature(fn).parameters) if fn is not None else []
    except (TypeError, ValueError):
        return []
