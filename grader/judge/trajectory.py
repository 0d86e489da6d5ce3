"""Trajectory cases: run an update rule for many steps and compare whole trajectories.

:func:`drive` is a generator: it yields the call of each step and receives
that step's output, from which it takes the next parameter and state
(:class:`grader.spec.Trajectory`).  The gradient of every step is computed
here, by the grader, from the objective.  Whoever runs the function — the
reference in the grader, the student's code in the sandbox — drives it the
same way, and :func:`part` finds the first step where two trajectories
differ.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Generator

import numpy as np

from grader.judge.properties import as_numpy

__all__ = ["Run", "StepFailed", "drive", "run_inprocess", "part", "bind_names"]


@dataclass(frozen=True)
class Run:
    """One trajectory.

    Attributes:
        params: the parameter after each step (float64 numpy, flattened), ``steps`` entries.
        losses: the objective after each step.
        start_loss: the objective at the starting point.
        error: why the run stopped early (wrong structure, non-finite values), or "".
        stopped_at: the step (1-based) at which it stopped, or None.
        states: the carried state after each step (name -> float64 numpy, flattened).
    """

    params: tuple = ()
    losses: tuple = ()
    start_loss: float = float("nan")
    error: str = ""
    stopped_at: int | None = None
    states: tuple = ()

    def to_data(self) -> dict:
        return {"params": [np.asarray(p, dtype=np.float64) for p in self.params], "losses": list(self.losses),
                "start_loss": self.start_loss, "error": self.error, "stopped_at": self.stopped_at,
                "states": [{k: np.asarray(v, dtype=np.float64) for k, v in st.items()} for st in self.states]}

    @classmethod
    def from_data(cls, d: dict) -> "Run":
        return cls(params=tuple(as_numpy(p).astype(np.float64) for p in d.get("params", ())),
                   losses=tuple(float(x) for x in d.get("losses", ())), start_loss=float(d.get("start_loss", "nan")),
                   error=str(d.get("error", "")), stopped_at=d.get("stopped_at"),
                   states=tuple({str(k): as_numpy(v).astype(np.float64) for k, v in st.items()}
                                for st in d.get("states", ())))


@dataclass(frozen=True)
class StepFailed:
    """Sent into :func:`drive` instead of an output when the update rule raised: the run ends there."""

    message: str


def bind_names(fn: Callable) -> list[str]:
    """Parameter names of ``fn`` in order (to find a call's arguments by their contract names)."""
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []


def _locate(call, names: list[str], name: str):
    """``("args", i)`` or ``("kwargs", name)``: where argument ``name`` sits in ``call``."""
    if name in call.kwargs:
        return ("kwargs", name)
    if name in names:
        i = names.index(name)
        if i < len(call.args):
            return ("args", i)
    raise LookupError(f"the case's call has no argument {name!r}")


def _get(call, where):
    return call.args[where[1]] if where[0] == "args" else call.kwargs[where[1]]


def _as_tensor(v, like):
    """An output value as a plain torch tensor of ``like``'s dtype.

    In the student's process this reads the update rule's output after the guard has exited, so it
    runs none of the student's code: classes are tested on ``type(v)``, a tensor subclass is read
    through the base class (one with ``__torch_dispatch__``, whose reading would run its own code,
    is refused), and only tensors, numpy arrays, decoded Arrays and Python numbers are accepted.

    Raises:
        TypeError: any other value.
    """
    import torch

    from grader.sandbox.wire import Array, base_tensor

    tv = type(v)
    if issubclass(tv, torch.Tensor):
        t = base_tensor(v).detach().clone()
    elif tv is Array or issubclass(tv, np.ndarray):
        t = torch.from_numpy(np.array(v.data if tv is Array else v, copy=True))
    elif tv in (bool, int, float) or issubclass(tv, np.generic):
        t = torch.from_numpy(np.array(v, copy=True))
    else:
        raise TypeError(f"expected a tensor, got {tv.__name__}")
    return t.to(like.dtype) if isinstance(like, torch.Tensor) and t.is_floating_point() else t


def _pick(out, index):
    """Item ``index`` of a tuple or list output, read through the base class (see :func:`_as_tensor`)."""
    if index is None:
        return out
    tv = type(out)
    if not issubclass(tv, (tuple, list)):
        raise LookupError(f"expected a tuple, got {tv.__name__}")
    base = tuple if issubclass(tv, tuple) else list
    n = base.__len__(out)
    if index >= n:
        raise LookupError(f"expected a tuple of at least {index + 1} values, got {n}")
    return base.__getitem__(out, index)


def drive(traj, call, names: list[str], *, losses: bool = True) -> Generator[Any, Any, Run]:
    """Yield each step's call; receive its output; return the :class:`Run`.

    Args:
        traj: the case's :class:`grader.spec.Trajectory`.
        call: the case's first call (torch tensors).
        names: the function's parameter names (contract order), to find arguments by name.
        losses: also compute the objective after each step (the student's process skips it: the
            grader recomputes every loss from the parameters it gets back).
    """
    import torch

    from grader.spec import Call

    p_at = _locate(call, names, traj.param)
    g_at = _locate(call, names, traj.grad)
    c_at = {n: _locate(call, names, n) for n in traj.carry}
    t_at = _locate(call, names, traj.step) if traj.step else None
    param = _get(call, p_at)
    if not isinstance(param, torch.Tensor):
        raise TypeError(f"trajectory parameter {traj.param!r} must be a tensor")
    shape = tuple(param.shape)
    state = {n: _get(call, w) for n, w in c_at.items()}
    t = _get(call, t_at) if t_at else None
    objective, f64 = traj.objective, torch.float64
    start = objective.loss(param.detach().to(f64).numpy())
    params, loss_values, states = [], [], []
    base_args, base_kwargs = list(call.args), dict(call.kwargs)
    for step in range(1, traj.steps + 1):
        grad = torch.from_numpy(objective.grad(param.detach().to(f64).numpy())).to(param.dtype)
        # one Call per step: the case's arguments with this step's param, grad, state and step number
        where = {"args": list(base_args), "kwargs": dict(base_kwargs)}
        where[p_at[0]][p_at[1]] = param.clone()
        where[g_at[0]][g_at[1]] = grad
        for n, w in c_at.items():
            where[w[0]][w[1]] = state[n].clone() if isinstance(state[n], torch.Tensor) else state[n]
        if t_at:
            where[t_at[0]][t_at[1]] = t
        out = yield Call(tuple(where["args"]), where["kwargs"])
        if type(out) is StepFailed:  # (type(): an object may lie about its __class__)
            return Run(tuple(params), tuple(loss_values), start, f"step {step}: {out.message}", step, tuple(states))
        try:
            new = _as_tensor(_pick(out, traj.param_out), param)
            if tuple(new.shape) != shape:
                raise LookupError(f"the new `{traj.param}` has shape {tuple(new.shape)}, expected {shape}")
            new_state = {}
            for n, i in traj.carry.items():
                v = _as_tensor(_pick(out, i), state[n])
                if isinstance(state[n], torch.Tensor) and tuple(v.shape) != tuple(state[n].shape):
                    raise LookupError(f"the new `{n}` has shape {tuple(v.shape)}, expected {tuple(state[n].shape)}")
                new_state[n] = v
        except (LookupError, TypeError, ValueError) as e:
            return Run(tuple(params), tuple(loss_values), start, f"step {step}: {e}", step, tuple(states))
        v = new.detach().to(f64).numpy().reshape(-1)
        params.append(v)
        states.append({n: x.detach().to(f64).numpy().reshape(-1) for n, x in new_state.items()
                       if isinstance(x, torch.Tensor)})
        if losses:
            loss_values.append(objective.loss(v))
        if not np.isfinite(v).all():
            return Run(tuple(params), tuple(loss_values), start, f"step {step}: the parameter is not finite", step,
                       tuple(states))
        param, state = new, new_state
        if t_at:
            t = t + 1
    return Run(tuple(params), tuple(loss_values), start, states=tuple(states))


def run_inprocess(fn: Callable, traj, call, names: list[str] | None = None) -> Run:
    """Drive ``fn`` (a trusted function: the reference, a mistake variant, an oracle) in this process."""
    names = names if names is not None else bind_names(fn)
    gen = drive(traj, call, names)
    try:
        c = next(gen)
        while True:
            c = gen.send(fn(*c.args, **dict(c.kwargs)))
    except StopIteration as stop:
        return stop.value


@dataclass(frozen=True)
class Parting:
    """Where two trajectories part: ``step`` (1-based; None when they agree) and a message."""

    step: int | None
    message: str = ""
    worst: float = 0.0
    index: tuple = field(default_factory=tuple)


def _first_bad(e: np.ndarray, g: np.ndarray, rtol: float, atol: float) -> int | None:
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(g - e)
        bad = ~(diff <= atol + rtol * np.abs(e))  # NaN and inf count as bad
        return int(np.argmax(np.where(bad, np.nan_to_num(diff, nan=np.inf), -1.0))) if bad.any() else None


def part(expected: Run, got: Run, *, rtol: float, atol: float, param: str = "param") -> Parting:
    """The first step where ``got`` leaves ``expected`` (``|got - exp| > atol + rtol·|exp|``), in the
    parameter or in any carried state."""
    n = len(expected.params)
    for i in range(n):
        if i >= len(got.params):
            why = got.error or "the run stopped"
            return Parting(i + 1, f"your trajectory stops at step {i + 1} of {n}: {why}")
        e, g = np.asarray(expected.params[i]), np.asarray(got.params[i])
        if e.shape != g.shape:
            return Parting(i + 1, f"step {i + 1}: `{param}` has {g.size} values, expected {e.size}")
        j = _first_bad(e, g, rtol, atol)
        if j is not None:
            return Parting(i + 1, (f"your trajectory parts from the reference at step {i + 1} of {n}: `{param}`[{j}] "
                                   f"is {g[j]:.8g}, expected {e[j]:.8g} (loss {got.losses[i]:.6g}, expected "
                                   f"{expected.losses[i]:.6g})"), float(np.abs(g[j] - e[j])), (j,))
        es = expected.states[i] if i < len(expected.states) else {}
        gs = got.states[i] if i < len(got.states) else {}
        for name, ev in es.items():
            gv = gs.get(name)
            if gv is None or np.asarray(gv).shape != np.asarray(ev).shape:
                return Parting(i + 1, f"step {i + 1}: the returned `{name}` does not have the expected shape")
            j = _first_bad(np.asarray(ev), np.asarray(gv), rtol, atol)
            if j is not None:
                return Parting(i + 1, (f"your trajectory parts from the reference at step {i + 1} of {n}: the state "
                                       f"`{name}`[{j}] is {gv[j]:.8g}, expected {ev[j]:.8g} (`{param}` still agrees)"),
                               float(abs(float(gv[j]) - float(ev[j]))), (j,))
    if got.error and len(got.params) < n:
        return Parting(len(got.params) + 1, got.error)
    return Parting(None, f"agrees with the reference at every one of {n} steps")
