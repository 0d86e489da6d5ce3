"""Gradient consistency: a backward function against central differences of a forward.

For one case of a backward function (see :class:`grader.spec.GradCheck`):

1. :func:`probes` builds the forward's call from the backward's, draws
   random unit directions ``d`` (float64, seeded) for every argument in
   ``wrt``, and lists the perturbed forward calls ``x ± h d``;
2. someone runs the forward on those calls: the *student's* forward in the
   sandbox, or the spec's trusted one in the grader (:func:`run_trusted`);
3. :func:`judge` compares, per argument and direction, the backward's
   gradient projected on ``d`` with the central difference
   ``<upstream, F(x + h d) - F(x - h d)> / 2h``, with CS231n's relative
   error ``|a - b| / max(|a| + |b|, 1e-8)``.

Everything is computed in float64 numpy in the grader's process; outputs
may be decoded wire Arrays, numpy arrays or torch tensors.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from grader.judge.properties import as_numpy, value_at

__all__ = ["Probe", "Probes", "GradReport", "probes", "judge", "run_trusted", "rel_error"]


def rel_error(a: float, b: float) -> float:
    """CS231n's relative error ``|a - b| / max(|a| + |b|, 1e-8)``."""
    return abs(a - b) / max(abs(a) + abs(b), 1e-8)


@dataclass(frozen=True)
class Probe:
    """One direction for one argument: the two perturbed forward calls.

    Attributes:
        arg: the forward argument (position or keyword) that is perturbed.
        grad_path: where its gradient is in the backward's output.
        direction: the unit direction (float64 numpy, the argument's shape).
        plus / minus: the forward calls at ``x + h d`` and ``x - h d``.
    """

    arg: int | str
    grad_path: tuple
    direction: np.ndarray
    plus: Any
    minus: Any


@dataclass(frozen=True)
class Probes:
    """What a gradient check needs: the forward's base call, the upstream gradient, the probes."""

    base: Any
    upstream: np.ndarray | None
    output: tuple
    step: float
    rtol: float
    items: tuple[Probe, ...] = ()

    def calls(self) -> list:
        """Every forward call to run, in order: plus, minus for each probe."""
        out = []
        for p in self.items:
            out.extend((p.plus, p.minus))
        return out


@dataclass(frozen=True)
class GradReport:
    """The outcome of a gradient check on one case.

    Attributes:
        consistent: every relative error is within ``rtol``.
        worst: the largest relative error.
        per_arg: argument name -> its largest relative error.
        message: one sentence for the report.
        details: (argument, analytic, numeric, relative error) per probe.
    """

    consistent: bool
    worst: float
    per_arg: dict = field(default_factory=dict)
    message: str = ""
    details: tuple = ()


def _with_arg(call, arg, value):
    from grader.spec import Call

    args = list(call.args)
    kwargs = dict(call.kwargs)
    if isinstance(arg, int):
        args[arg] = value
    else:
        kwargs[arg] = value
    return Call(tuple(args), kwargs)


def _get_arg(call, arg):
    if isinstance(arg, int):
        if arg >= len(call.args):
            raise LookupError(f"the forward call has no argument {arg}")
        return call.args[arg]
    if arg not in call.kwargs:
        raise LookupError(f"the forward call has no argument {arg!r}")
    return call.kwargs[arg]


def _f64(call):
    """The call with every floating tensor in float64 (a deep copy)."""
    import torch

    from grader.spec import Call

    def conv(v):
        if isinstance(v, torch.Tensor):
            return v.detach().clone().to(torch.float64) if v.is_floating_point() else v.detach().clone()
        if isinstance(v, (list, tuple)):
            return type(v)(conv(x) for x in v)
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return copy.deepcopy(v)

    return Call(tuple(conv(a) for a in call.args), {k: conv(v) for k, v in dict(call.kwargs).items()})


def probes(gc, call, *, seed: int) -> Probes:
    """The probes of :class:`grader.spec.GradCheck` ``gc`` for the backward call ``call``.

    Raises:
        LookupError / TypeError: the spec's ``inputs``/``wrt`` do not fit the call (a spec bug).
    """
    import torch

    base = _f64(gc.inputs(_f64(call)))
    upstream = None
    if gc.upstream is not None:
        upstream = as_numpy(gc.upstream(_f64(call))).astype(np.float64)
    # Directions from their own stream: reusing the case's seed would make the first direction equal
    # the case's first drawn input (projections of scale-invariant layers such as norms are then ~0).
    import hashlib

    g = torch.Generator().manual_seed(
        int.from_bytes(hashlib.sha256(f"{seed}|gradcheck".encode()).digest()[:8], "little") & ((1 << 63) - 1))
    items = []
    for arg, path in gc.wrt.items():
        x = _get_arg(base, arg)
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"GradCheck.wrt names argument {arg!r}, which is not a floating tensor")
        for _ in range(gc.directions):
            d = torch.randn(x.shape, generator=g, dtype=torch.float64)
            n = float(d.norm())
            d = d / (n if n > 0 else 1.0)
            items.append(Probe(arg=arg, grad_path=tuple(path), direction=d.numpy(),
                               plus=_with_arg(base, arg, x + gc.step * d),
                               minus=_with_arg(base, arg, x - gc.step * d)))
    return Probes(base=base, upstream=upstream, output=tuple(gc.output), step=gc.step, rtol=gc.rtol,
                  items=tuple(items))


def run_trusted(fn, p: Probes) -> list:
    """Run a trusted forward (the spec's own callable) on every probe call, in order."""
    out = []
    for c in p.calls():
        c = _f64(c)
        out.append(fn(*c.args, **dict(c.kwargs)))
    return out


def _name(arg) -> str:
    return f"argument {arg}" if isinstance(arg, int) else f"`{arg}`"


def judge(p: Probes, backward_output: Any, forward_outputs: Sequence[Any], *, names: Sequence[str] = ()) -> GradReport:
    """Compare the backward's gradients with the central differences of the forward outputs.

    Args:
        p: from :func:`probes`.
        backward_output: the backward function's output on the case.
        forward_outputs: the forward's outputs on ``p.calls()``, in order.
        names: the forward's parameter names (for messages about positional arguments).

    Returns:
        A :class:`GradReport`; a malformed output gives ``consistent=False`` with the reason.
    """

    def label(arg) -> str:
        if isinstance(arg, int) and arg < len(names):
            return f"`{names[arg]}`"
        return _name(arg)

    outs = list(forward_outputs)
    if len(outs) != 2 * len(p.items):
        return GradReport(False, float("inf"), message="the forward did not run on every probe")
    details, per_arg = [], {}
    worst = 0.0
    for i, pr in enumerate(p.items):
        try:
            yp = as_numpy(value_at(outs[2 * i], p.output)).astype(np.float64)
            ym = as_numpy(value_at(outs[2 * i + 1], p.output)).astype(np.float64)
            u = np.ones_like(yp) if p.upstream is None else p.upstream
            with np.errstate(invalid="ignore", over="ignore"):  # a forward that overflows gives inf - inf
                numeric = float(np.sum(u * (yp - ym)) / (2 * p.step))
            gr = as_numpy(value_at(backward_output, pr.grad_path)).astype(np.float64)
            if gr.shape != pr.direction.shape:
                return GradReport(False, float("inf"), message=f"the gradient of {label(pr.arg)} has shape "
                                  f"{gr.shape}, not the argument's {pr.direction.shape}")
            with np.errstate(invalid="ignore", over="ignore"):
                analytic = float(np.sum(gr * pr.direction))
        except (LookupError, TypeError, ValueError) as e:
            return GradReport(False, float("inf"), message=f"cannot check the gradients: {e}")
        err = rel_error(analytic, numeric) if np.isfinite(analytic) and np.isfinite(numeric) else float("inf")
        worst = max(worst, err)
        key = label(pr.arg)
        per_arg[key] = max(per_arg.get(key, 0.0), err)
        details.append((key, analytic, numeric, err))
    ok = worst <= p.rtol
    bad = [k for k, e in per_arg.items() if e > p.rtol]
    if ok:
        msg = f"your gradients agree with central differences (worst relative error {worst:.2g})"
    else:
        k, a, n, e = max(details, key=lambda t: t[3])
        msg = (f"the gradient of {', '.join(bad)} disagrees with central differences: along a random direction "
               f"the backward gives {a:.6g}, the forward's finite difference {n:.6g} (relative error {e:.2g}, "
               f"allowed {p.rtol:g})")
    return GradReport(ok, worst, per_arg, msg, tuple(details))
