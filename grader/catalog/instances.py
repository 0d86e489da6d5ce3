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

__all__ = ["Instance", "build_instances", "variant_results", "arg_names", "instance_seed", "repeat_seeds",
           "make_call", "call_seeded"]


@dataclass
class Instance:
    """One graded run of a function: a case in one dtype.

    Attributes:
        case: the spec's case.
        dtype: ``"float32"`` or ``"float64"``.
        key: ``"<case id>/<dtype>"``, unique within the function.
        inputs: decoded inputs ``{"args": (...), "kwargs": {...}}`` (what the student's process gets).
        expected: decoded expected output; for a trajectory case the reference's
            :class:`grader.judge.trajectory.Run`; for a random case one reference
            output (its structure, shapes and dtypes are what is checked).
        points: points of this instance (the case's points split over its dtypes).
        ref_seconds: the reference's own time on this input (scales the time limit).
        call: the inputs as torch tensors (None when built from kit data).
        variants: what the mistake variants give on these inputs, if computed:
            decoded outputs (plain), property outcomes (random) or runs (trajectory).
        error: set when the reference itself failed (a spec bug).
        seed: the instance's seed (its inputs, and the seeds of its calls).
        properties: for a random case, its properties (:mod:`grader.judge.properties`).
        gradcheck: precomputed gradient-check data (kit), else None.
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
    seed: int = 0
    properties: tuple = ()
    gradcheck: dict | None = None

    @property
    def kind(self) -> str:
        """``"trajectory"``, ``"random"`` or ``"plain"``."""
        if self.case.trajectory is not None:
            return "trajectory"
        return "random" if self.properties or self.case.random else "plain"

    @property
    def call_seeds(self) -> list[int]:
        """Seeds of torch's default generator for each call of a random case (one call otherwise: seed 0)."""
        return repeat_seeds(self.seed, self.case.repeats) if self.kind == "random" else [0]


def _upcast(v):
    import torch

    if isinstance(v, Call):
        return Call(_upcast(tuple(v.args)), _upcast(dict(v.kwargs)))
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
                    include_hidden: bool = True, cases: tuple | None = None) -> list[Instance]:
    """Every (case, dtype) instance of ``function`` (or of ``cases``), with expected outputs from ``reference``."""
    from grader.judge import trajectory as tj

    ref_fn = getattr(reference, function.name)
    out: list[Instance] = []
    for case in (function.cases if cases is None else cases):
        if case.hidden and not include_hidden:
            continue
        for dtype in case.dtypes:
            seed = instance_seed(assignment, function, case, dtype, hidden_salt=hidden_salt)
            call = make_call(assignment, function, case, dtype, seed=seed)
            inst = Instance(case=case, dtype=dtype, key=f"{case.id}/{dtype}", call=call,
                            inputs=roundtrip({"args": call.args, "kwargs": dict(call.kwargs)}),
                            expected=None, points=case.points / len(case.dtypes), seed=seed)
            try:
                if case.trajectory is not None:
                    up = _upcast(call)
                    t = time.perf_counter()
                    inst.expected = tj.run_inprocess(ref_fn, case.trajectory, up, tj.bind_names(ref_fn))
                    inst.ref_seconds = time.perf_counter() - t
                    if inst.expected.error:
                        raise ValueError(f"the reference's trajectory stopped: {inst.expected.error}")
                elif case.random:
                    inst.properties = case.properties_for(call)
                    t = time.perf_counter()
                    inst.expected = roundtrip(call_seeded(ref_fn, call, inst.call_seeds[0]))
                    inst.ref_seconds = time.perf_counter() - t
                else:
                    native = roundtrip(ref_fn(*copy.deepcopy(call.args), **copy.deepcopy(dict(call.kwargs))))
                    up = _upcast(call)
                    t = time.perf_counter()
                    values = ref_fn(*up.args, **dict(up.kwargs))
                    inst.ref_seconds = time.perf_counter() - t
                    inst.expected = _cast_like(roundtrip(values), native)
            except Exception as e:  # a broken spec/reference is the instructor's problem: say so loudly
                inst.error = (f"the reference failed on this case ({type(e).__name__}: {e}); "
                              "report this to your instructor")
            out.append(inst)
    return out


def variant_results(function: Function, inst: Instance) -> dict:
    """What each mistake variant gives on ``inst`` (computed once, kept on the instance).

    Plain cases: decoded outputs; random cases: the variant's property outcomes
    with the instance's call seeds; trajectory cases: the variant's run.
    Variants that raise are left out. Needs ``inst.call`` (project catalogs;
    a kit ships these).
    """
    from grader.judge import trajectory as tj

    if inst.variants is not None:
        return inst.variants
    out: dict = {}
    if inst.call is None:
        inst.variants = out
        return out
    for m in function.mistakes:
        try:
            if inst.kind == "trajectory":
                out[m.id] = tj.run_inprocess(m.variant, inst.case.trajectory, _upcast(inst.call),
                                             tj.bind_names(m.variant))
            elif inst.kind == "random":
                outs = [call_seeded(m.variant, inst.call, s) for s in inst.call_seeds]
                out[m.id] = [p.evaluate(outs, inst.call.args, dict(inst.call.kwargs)) for p in inst.properties]
            else:
                out[m.id] = roundtrip(call_seeded(m.variant, inst.call))
        except Exception:  # noqa: BLE001 - a variant that raises names nothing
            continue
    inst.variants = out
    return out


def arg_names(fn) -> list[str]:
    """Parameter names of ``fn`` (for messages such as "modified its input `x`")."""
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []
