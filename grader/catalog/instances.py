"""Case instances: one case of one function in one dtype, with its inputs and expected output.

Built from a spec and its reference (:func:`build_instances`): the inputs
come from the case's seeded generator; the expected output is the
reference's, computed in float64 from the same inputs and cast back to the
dtype the reference returns in the case's dtype (so a float32 case is
judged against the float64 truth, rounded once).  A student kit builds the
same records from shipped data instead (:mod:`grader.kit`).
"""

from __future__ import annotations

import copy
import inspect
import time
from dataclasses import dataclass

from grader.spec import Assignment, Call, Case, Function, case_seed
from grader.sandbox.wire import Array, roundtrip

__all__ = ["Instance", "build_instances", "arg_names"]


@dataclass
class Instance:
    """One graded run of a function: a case in one dtype.

    Attributes:
        case: the spec's case.
        dtype: ``"float32"`` or ``"float64"``.
        key: ``"<case id>/<dtype>"``, unique within the function.
        inputs: decoded inputs ``{"args": (...), "kwargs": {...}}`` (what the student's process gets).
        expected: decoded expected output.
        points: points of this instance (the case's points split over its dtypes).
        ref_seconds: the reference's own time on this input (scales the time limit).
        call: the inputs as torch tensors (None when built from kit data).
        variants: decoded outputs of the mistake variants, if precomputed.
        error: set when the reference itself failed (a spec bug).
    """

    case: Case
    dtype: str
    key: str
    inputs: dict
    expected: object
    points: float
    ref_seconds: float = 0.0
    call: Call | None = None
    variants: dict | None = None
    error: str | None = None


def _upcast(v):
    import torch

    if isinstance(v, torch.Tensor):
        return v.detach().clone().to(torch.float64) if v.is_floating_point() else v.detach().clone()
    if isinstance(v, tuple):
        return tuple(_upcast(x) for x in v)
    if isinstance(v, list):
        return [_upcast(x) for x in v]
    if isinstance(v, dict):
        return {k: _upcast(x) for k, x in v.items()}
    return v


def _cast_like(values, like):
    """Cast float64 ``values`` (decoded) to the dtypes of ``like`` (the decoded native-dtype run)."""
    import numpy as np

    if isinstance(like, Array) and isinstance(values, Array) and values.shape == like.shape:
        if like.dtype.startswith("float"):
            data = values.data.astype(np.dtype(like.dtype))
            data.setflags(write=False)
            return Array(data=data, dtype=like.dtype, device=like.device, kind=like.kind, cls=like.cls)
        return like
    if isinstance(like, (tuple, list)) and isinstance(values, (tuple, list)) and len(like) == len(values):
        out = [_cast_like(v, l) for v, l in zip(values, like)]
        return tuple(out) if isinstance(like, tuple) else out
    if isinstance(like, dict) and isinstance(values, dict) and like.keys() == values.keys():
        return {k: _cast_like(values[k], like[k]) for k in like}
    return like


def instance_seed(assignment: Assignment, function: Function, case: Case, dtype: str, *, hidden_salt: str = "") -> int:
    """The seed of ``case`` in ``dtype`` (hidden cases mix in ``hidden_salt``)."""
    return case_seed(salt=assignment.salt, assignment=assignment.id, function=function.name, case=case.id,
                     dtype=dtype, hidden_salt=hidden_salt if case.hidden else "")


def repeat_seeds(seed: int, n: int) -> list[int]:
    """Seeds of torch's default generator for the ``n`` calls of a case (distinct, derived from ``seed``)."""
    import hashlib

    return [int.from_bytes(hashlib.sha256(f"{seed}|call|{r}".encode()).digest()[:8], "little") & ((1 << 63) - 1)
            for r in range(n)]


def make_call(assignment: Assignment, function: Function, case: Case, dtype: str, *, hidden_salt: str = "",
              seed: int | None = None) -> Call:
    """The inputs of ``case`` in ``dtype``, from its seeded generator (``seed`` overrides the case's own)."""
    import torch

    if seed is None:
        seed = instance_seed(assignment, function, case, dtype, hidden_salt=hidden_salt)
    g = torch.Generator().manual_seed(seed)
    return case.make(g, getattr(torch, dtype))


def call_seeded(fn, call: Call, seed: int | None = None):
    """``fn(*call.args, **call.kwargs)`` on deep copies, with torch's default generator seeded
    (and restored afterwards) when ``seed`` is given."""
    import torch

    args, kwargs = copy.deepcopy(call.args), copy.deepcopy(dict(call.kwargs))
    if seed is None:
        return fn(*args, **kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fn(*args, **kwargs)


def build_instances(assignment: Assignment, function: Function, reference, *, hidden_salt: str = "",
                    include_hidden: bool = True) -> list[Instance]:
    """Every (case, dtype) instance of ``function``, with expected outputs from ``reference``."""
    ref_fn = getattr(reference, function.name)
    out: list[Instance] = []
    for case in function.cases:
        if case.hidden and not include_hidden:
            continue
        for dtype in case.dtypes:
            call = make_call(assignment, function, case, dtype, hidden_salt=hidden_salt)
            inst = Instance(case=case, dtype=dtype, key=f"{case.id}/{dtype}", call=call,
                            inputs=roundtrip({"args": call.args, "kwargs": dict(call.kwargs)}),
                            expected=None, points=case.points / len(case.dtypes))
            try:
                native = roundtrip(ref_fn(*copy.deepcopy(call.args), **copy.deepcopy(dict(call.kwargs))))
                up = _upcast((call.args, dict(call.kwargs)))
                t = time.perf_counter()
                values = ref_fn(*up[0], **up[1])
                inst.ref_seconds = time.perf_counter() - t
                inst.expected = _cast_like(roundtrip(values), native)
            except Exception as e:  # a broken spec/reference is the instructor's problem: say so loudly
                inst.error = (f"the reference failed on this case ({type(e).__name__}: {e}); "
                              "report this to your instructor")
            out.append(inst)
    return out


def arg_names(fn) -> list[str]:
    """Parameter names of ``fn`` (for messages such as "modified its input `x`")."""
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []
