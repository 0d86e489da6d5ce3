"""Shared helpers for the ``test_reference_<id>.py`` files (activations,
cross_entropy, backprop, metrics): load a reference and its spec by path, run
every spec case, and compare outputs with NaN matching NaN.

Loaded by path from the test files (not imported as a package), so it works
whatever pytest's import mode is.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import sys
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def load(name: str, relpath: str):
    """Import ``ROOT/relpath`` as a fresh module called ``name``."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relpath)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_pair(aid: str):
    """(reference module, ASSIGNMENT) of assignment ``aid``."""
    ref = load(f"_reference_{aid}", f"reference/{aid}.py")
    spec = load(f"_spec_{aid}", f"reference/specs/{aid}.py")
    return ref, spec.ASSIGNMENT


def tmap(f, o):
    if isinstance(o, torch.Tensor):
        return f(o)
    if isinstance(o, (tuple, list)):
        return type(o)(tmap(f, x) for x in o)
    if isinstance(o, dict):
        return {k: tmap(f, v) for k, v in o.items()}
    return o


def close(expected, got, *, rtol: float, atol: float) -> bool:
    """Same structure and shapes, values within atol + rtol*|expected|, NaN == NaN, inf == inf."""
    if expected is None or got is None:
        return expected is got
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor) or expected.shape != got.shape:
            return False
        if not expected.is_floating_point():
            return bool(torch.equal(expected, got.to(expected.dtype)))
        e, g = expected.double(), got.double()
        ok_special = (e.isnan() & g.isnan()) | (e.isinf() & (e == g))
        both_finite = e.isfinite() & g.isfinite()
        diff = torch.where(both_finite, (g - e).abs(), torch.full_like(e, math.inf))
        diff = torch.where(ok_special, torch.zeros_like(diff), diff)
        allowed = atol + rtol * torch.where(e.isfinite(), e.abs(), torch.zeros_like(e))
        return bool((diff <= allowed).all())
    if isinstance(expected, (tuple, list)):
        return (isinstance(got, (tuple, list)) and len(got) == len(expected)
                and all(close(a, b, rtol=rtol, atol=atol) for a, b in zip(expected, got)))
    if isinstance(expected, dict):
        return (isinstance(got, dict) and set(got) == set(expected)
                and all(close(expected[k], got[k], rtol=rtol, atol=atol) for k in expected))
    if isinstance(expected, float) and isinstance(got, float) and math.isnan(expected):
        return math.isnan(got)
    return type(expected) is type(got) and expected == got


def instances(assignment, seed: int = 123):
    """Every (function, case, call) of the spec, inputs built in float64."""
    out = []
    for fn in assignment.functions:
        for case in fn.cases:
            g = torch.Generator().manual_seed(seed)
            out.append((fn, case, case.make(g, torch.float64)))
    return out


class RecordOps(TorchDispatchMode):
    """Records the ATen operator names that run inside the context."""

    def __init__(self):
        super().__init__()
        self.ops: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(func._schema.name)
        return func(*args, **(kwargs or {}))


def check_spec(ref, assignment):
    """Return a list of problems: reference errors/mutations/banned ops on spec cases,
    mistakes that never differ from the reference, indistinguishable mistake pairs."""
    problems: list[str] = []
    tol = assignment.tolerance["float64"]
    outputs: dict[tuple[str, str], object] = {}
    differs: dict[str, int] = {}
    for fn, case, c in instances(assignment):
        f = getattr(ref, fn.name)
        before = tmap(lambda t: t.clone(), (c.args, dict(c.kwargs)))
        rec = RecordOps()
        with rec:
            expected = f(*c.args, **c.kwargs)
        hit = rec.ops & set(assignment.banned_ops)
        if hit:
            problems.append(f"{fn.name}[{case.id}]: reference runs banned ops {sorted(hit)}")
        if not close(before, (c.args, dict(c.kwargs)), rtol=0, atol=0):
            problems.append(f"{fn.name}[{case.id}]: reference modified its inputs")
        for m in fn.mistakes:
            got = m.variant(*c.args, **c.kwargs)
            outputs[(m.id, case.id)] = got
            if not close(expected, got, rtol=tol.rtol, atol=tol.atol):
                differs[m.id] = differs.get(m.id, 0) + 1
    for fn in assignment.functions:
        for m in fn.mistakes:
            if not differs.get(m.id):
                problems.append(f"{fn.name}: mistake {m.id} never differs from the reference")
        for a, b in itertools.combinations([m.id for m in fn.mistakes], 2):
            if all(close(outputs[(a, cs.id)], outputs[(b, cs.id)], rtol=tol.rtol, atol=tol.atol)
                   for cs in fn.cases):
                problems.append(f"{fn.name}: mistakes {a} and {b} are indistinguishable")
    return problems


def static_hits(path: Path, banned: tuple[str, ...]) -> list[str]:
    """Banned names the grader's own static scan finds in the file at ``path``."""
    from grader.judge.scan import scan

    hits, _ = scan(path.read_text(), tuple(banned))
    return [f"{h.name} (line {h.line})" for h in hits]
