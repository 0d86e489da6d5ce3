"""``grade lint-spec``: check an assignment's spec against its stub and reference.

Run by ``grade lint-spec``, by ``grade release`` (a kit is never built from a
broken spec) and by the test suite (``tests/catalog/test_assignments.py``),
so a new assignment is covered with no new test code.  All checks run the
trusted instructor code (reference, spec, oracle) in this process.

Checks (each problem is a :class:`Problem` naming the check):

* ``signature``: the stub and the reference define every spec function with
  the same parameters (names, order, defaults), the contract's;
* ``stub``: every stub function raises NotImplementedError, and the stub's
  docstrings name the banned calls;
* ``cases``: every function has cases, a tolerance for every dtype its cases
  use, and the reference runs on every case;
* ``banned``: the reference obeys its own banned list (the static scan of its
  source, and no banned ATen operator at run time on any case);
* ``inputs``: the reference leaves its inputs unmodified on every case;
* ``mistake``: every mistake variant differs from the reference on at least
  one case (compared value by value, fails a property, or parts from the
  trajectory);
* ``distinct``: every two mistakes of a function differ on some case (else a
  student could not be told which one they made);
* ``property``: on property cases the reference passes every property;
* ``gradcheck``: the reference backward agrees with central differences of
  the reference forward (or the trusted one);
* ``oracle`` (only with ``oracles=True``: oracles may need test-only
  libraries): the reference agrees with the oracle on every case and on
  ``extra_seeds`` more draws.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

__all__ = ["Problem", "lint_assignment", "lint_catalog", "close", "check_oracle", "reference_outcomes",
           "indistinguishable_mistakes"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where, which check, and what to do."""

    assignment: str
    function: str
    check: str
    message: str

    def __str__(self) -> str:
        where = f"{self.assignment}.{self.function}" if self.function else self.assignment
        return f"{where}: [{self.check}] {self.message}"


# --------------------------------------------------------------------------- value comparison (trusted values)


def close(expected: Any, got: Any, *, rtol: float, atol: float) -> bool:
    """Same structure and shapes, values within ``atol + rtol·|expected|``, NaN == NaN, inf == inf.

    For trusted values (reference, oracle, variants) held as torch tensors,
    numpy arrays or Python values; the student's outputs go through
    :mod:`grader.judge.compare` instead.
    """
    import numpy as np
    import torch

    if isinstance(expected, torch.Tensor):
        expected = expected.detach().cpu()
        if expected.dtype == torch.bfloat16:
            expected = expected.float()
        expected = expected.numpy()
    if isinstance(got, torch.Tensor):
        got = got.detach().cpu()
        if got.dtype == torch.bfloat16:
            got = got.float()
        got = got.numpy()
    if isinstance(expected, np.ndarray):
        if not isinstance(got, np.ndarray) or expected.shape != got.shape:
            return False
        if expected.dtype.kind in "biu":
            return bool(np.array_equal(expected, got))
        e, g = expected.astype(np.float64), got.astype(np.float64)
        same_special = (np.isnan(e) & np.isnan(g)) | (np.isinf(e) & (e == g))
        with np.errstate(invalid="ignore", over="ignore"):
            ok = np.abs(g - e) <= atol + rtol * np.abs(np.where(np.isfinite(e), e, 0.0))
        return bool(np.all(ok | same_special))
    if expected is None or got is None:
        return expected is got
    if isinstance(expected, (tuple, list)):
        return (isinstance(got, (tuple, list)) and len(got) == len(expected)
                and all(close(a, b, rtol=rtol, atol=atol) for a, b in zip(expected, got)))
    if isinstance(expected, dict):
        return (isinstance(got, dict) and set(got) == set(expected)
                and all(close(expected[k], got[k], rtol=rtol, atol=atol) for k in expected))
    if isinstance(expected, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        if math.isnan(expected):
            return math.isnan(got)
        return abs(got - expected) <= atol + rtol * abs(expected) or got == expected
    return type(expected) is type(got) and expected == got


# --------------------------------------------------------------------------- helpers


def _instances(assignment, function, case, *, dtypes=None, extra_seeds: int = 0):
    """(dtype, seed, call) for the case's own seed and ``extra_seeds`` more."""
    from grader.catalog.instances import instance_seed, make_call

    out = []
    for dt in dtypes or case.dtypes:
        seed = instance_seed(assignment, function, case, dt)
        out.append((dt, seed, make_call(assignment, function, case, dt)))
        for k in range(extra_seeds):
            s2 = (seed * 6364136223846793005 + 1442695040888963407 + k) & ((1 << 63) - 1)
            out.append((dt, s2, make_call(assignment, function, case, dt, seed=s2)))
    return out


def _params(fn) -> list[tuple]:
    try:
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        return []


def _module_text(mod) -> str:
    parts = [inspect.getdoc(mod) or ""]
    for _, obj in vars(mod).items():
        if inspect.isfunction(obj) and obj.__module__ == mod.__name__:
            parts.append(inspect.getdoc(obj) or "")
    return "\n".join(parts)


def _unmentioned(banned, text: str) -> list[str]:
    """Banned entries a stub's docstrings do not tell the student about.

    An entry counts as mentioned when its last name appears, when a dotted
    prefix of it appears (``torch.nn`` covers ``torch.nn.Conv1d``), or when a
    mentioned banned name is part of it (``batch_norm`` covers
    ``cudnn_batch_norm``).  Private names (``_x``) are internal variants and
    need no mention.
    """
    low = text.lower()
    last = {b: b.rsplit(".", 1)[-1] for b in banned}
    said = {w.lower() for w in last.values() if len(w) >= 4 and w.lower() in low}
    out = []
    for b, w in last.items():
        if w.startswith("_") or w.lower() in low:
            continue
        parts = b.split(".")
        if any(".".join(parts[:i]).lower() in low for i in range(2, len(parts))):
            continue
        if any(s in w.lower() for s in said):
            continue
        out.append(w)
    return sorted(set(out))


def _raises_not_implemented(fn) -> bool:
    import ast
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            name = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(name, ast.Name) and name.id == "NotImplementedError":
                return True
    return False


def reference_outcomes(fn, function, case, call, seed: int):
    """The property outcomes of ``fn`` (reference or variant) on one property case, called
    ``case.repeats`` times with the case's call seeds."""
    from grader.catalog.instances import call_seeded, repeat_seeds

    outs = [call_seeded(fn, call, s) for s in repeat_seeds(seed, case.repeats)]
    return [p.evaluate(outs, call.args, dict(call.kwargs)) for p in case.properties_for(call)]


# --------------------------------------------------------------------------- checks


def check_oracle(assignment, function, reference, *, extra_seeds: int = 3) -> list[Problem]:
    """The reference against ``function.oracle`` on every case (float64) and ``extra_seeds`` more draws."""
    from grader.judge import trajectory as tj

    probs: list[Problem] = []
    if function.oracle is None:
        return probs
    ref = getattr(reference, function.name)
    tol = assignment.tolerance_for(function, function.cases[0], "float64") if function.cases else None
    for case in function.cases:
        if case.random:
            continue
        dts = ("float64",) if "float64" in case.dtypes else case.dtypes[:1]
        for dt, seed, c in _instances(assignment, function, case, dtypes=dts, extra_seeds=extra_seeds):
            t = assignment.tolerance_for(function, case, dt) or tol
            try:
                if case.trajectory is not None:
                    names = tj.bind_names(ref)
                    a = tj.run_inprocess(ref, case.trajectory, c, names)
                    b = tj.run_inprocess(function.oracle, case.trajectory, c, names)
                    parting = tj.part(a, b, rtol=t.rtol, atol=t.atol)
                    if parting.step is not None:
                        probs.append(Problem(assignment.id, function.name, "oracle",
                                             f"case {case.id} (seed {seed}): the oracle's trajectory parts from the "
                                             f"reference's: {parting.message}"))
                    continue
                from grader.catalog.instances import call_seeded

                a = call_seeded(ref, c)
                b = call_seeded(function.oracle, c)
            except Exception as e:  # noqa: BLE001 - report, do not crash the lint
                probs.append(Problem(assignment.id, function.name, "oracle",
                                     f"case {case.id} ({dt}, seed {seed}): {type(e).__name__}: {e}"))
                continue
            if not close(b, a, rtol=t.rtol, atol=t.atol):
                probs.append(Problem(assignment.id, function.name, "oracle",
                                     f"case {case.id} ({dt}, seed {seed}): the reference differs from the oracle"))
    return probs


def _check_banned(assignment, function, reference, ref_source: str) -> list[Problem]:
    from grader.judge.scan import hits_for, scan

    hits, calls = scan(ref_source, assignment.banned_for(function)[0])
    return [Problem(assignment.id, function.name, "banned",
                    f"the reference uses {h.name} (line {h.line}), which its spec bans")
            for h in hits_for(function.name, hits, calls)]


def _direct(fn, call, seed: int | None = None):
    """``fn`` on the call's own objects (not copies: the ``inputs`` check looks at them afterwards)."""
    import torch

    if seed is None:
        return fn(*call.args, **dict(call.kwargs))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fn(*call.args, **dict(call.kwargs))


def _snapshot(call):
    """A deep copy of a call's arguments, to compare after the reference ran."""
    import copy

    return copy.deepcopy((tuple(call.args), dict(call.kwargs)))


class _RecordOps:
    """A torch dispatch mode recording the ATen operators that run inside it."""

    def __new__(cls):
        from torch.utils._python_dispatch import TorchDispatchMode

        class Mode(TorchDispatchMode):
            def __init__(self):
                super().__init__()
                self.ops: set[str] = set()

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                self.ops.add(func._schema.name)
                return func(*args, **(kwargs or {}))

        return Mode()


def _variant_results(assignment, function, reference, variant) -> list:
    """What ``variant`` gives on every (case, dtype) of ``function``: ("value", output, tolerance),
    ("properties", properties, outcomes), ("trajectory", run, tolerance) or ("raised", exception name)."""
    from grader.catalog.instances import call_seeded, instance_seed, make_call
    from grader.judge import trajectory as tj

    names = tj.bind_names(getattr(reference, function.name))
    out = []
    for case in function.cases:
        for dt in case.dtypes:
            seed = instance_seed(assignment, function, case, dt)
            c = make_call(assignment, function, case, dt)
            tol = assignment.tolerance_for(function, case, dt)
            try:
                if case.trajectory is not None:
                    out.append(("trajectory", tj.run_inprocess(variant, case.trajectory, c, names), tol))
                elif case.random:
                    out.append(("properties", case.properties_for(c),
                                reference_outcomes(variant, function, case, c, seed)))
                else:
                    out.append(("value", call_seeded(variant, c), tol))
            except Exception as e:  # noqa: BLE001 - a variant that raises is a result too
                out.append(("raised", type(e).__name__))
    return out


def _same_results(a, b) -> bool:
    from grader.judge import trajectory as tj

    if a[0] != b[0] or a[0] == "raised":
        return a == b
    if a[0] == "properties":
        return all(p.agrees(x, y) for p, x, y in zip(a[1], a[2], b[2]))
    tol = a[2]
    if a[0] == "trajectory":
        return tj.part(a[1], b[1], rtol=tol.rtol, atol=tol.atol).step is None
    return close(a[1], b[1], rtol=tol.rtol, atol=tol.atol)


def indistinguishable_mistakes(assignment, reference) -> list[str]:
    """``"function: a and b"`` for every two mistakes of a function whose results agree on every case
    (values within the case's tolerance, property outcomes by the property's ``agrees``, trajectories
    never parting): the grader could not tell a student which of the two they made."""
    import itertools

    found = []
    for f in assignment.functions:
        res = {m.id: _variant_results(assignment, f, reference, m.variant) for m in f.mistakes}
        for a, b in itertools.combinations(res, 2):
            if all(_same_results(x, y) for x, y in zip(res[a], res[b])):
                found.append(f"{f.name}: {a} and {b}")
    return found


def lint_assignment(assignment, reference, *, stub=None, oracles: bool = False,
                    extra_seeds: int = 3) -> list[Problem]:
    """Every problem of one assignment (see the module docs); empty when the spec is sound.

    Args:
        assignment: the spec.
        reference: the loaded reference module.
        stub: the loaded stub module (``assignments/<id>.py``), or None to skip the stub checks.
        oracles: also check the reference against each function's oracle.
        extra_seeds: extra draws per case for the oracle check.
    """
    import torch

    from grader.catalog.instances import call_seeded, repeat_seeds
    from grader.judge import gradcheck as gck
    from grader.judge import trajectory as tj

    P = lambda f, check, msg: Problem(assignment.id, f, check, msg)  # noqa: E731
    probs: list[Problem] = []
    try:
        ref_source = inspect.getsource(reference)
    except (OSError, TypeError):
        ref_source = ""
    stub_text = _module_text(stub) if stub is not None else ""
    if stub is not None:
        missing = _unmentioned(assignment.banned, stub_text)
        if missing:
            probs.append(P("", "stub", f"the stub's docstrings do not mention the banned {', '.join(missing)}: "
                                       "students must be told what they may not call"))
    for function in assignment.functions:
        name = function.name
        ref = getattr(reference, name, None)
        if not callable(ref):
            probs.append(P(name, "signature", "the reference does not define it"))
            continue
        if stub is not None:
            sfn = getattr(stub, name, None)
            if not callable(sfn):
                probs.append(P(name, "signature", "the stub does not define it"))
            else:
                if _params(sfn) != _params(ref):
                    probs.append(P(name, "signature", f"stub signature {inspect.signature(sfn)} differs from the "
                                                      f"reference's {inspect.signature(ref)}"))
                if not _raises_not_implemented(sfn):
                    probs.append(P(name, "stub", "the stub's body must raise NotImplementedError"))
        if not function.cases:
            probs.append(P(name, "cases", "no cases"))
            continue
        for case in function.cases:
            for dt in case.dtypes:
                try:
                    assignment.tolerance_for(function, case, dt)
                except Exception:  # noqa: BLE001
                    probs.append(P(name, "cases", f"case {case.id}: no tolerance for {dt}"))
        probs.extend(_check_banned(assignment, function, reference, ref_source))
        differs = {m.id: False for m in function.mistakes}
        names = tj.bind_names(ref)
        for case in function.cases:
            for dt, seed, c in _instances(assignment, function, case):
                tol = assignment.tolerance_for(function, case, dt)
                rec = _RecordOps()
                before = _snapshot(c)
                try:
                    with rec:
                        if case.trajectory is not None:
                            expected = tj.run_inprocess(ref, case.trajectory, c, names)
                            if expected.error:
                                probs.append(P(name, "cases", f"case {case.id} ({dt}): the reference's trajectory "
                                                              f"stopped: {expected.error}"))
                        elif case.random:
                            outcomes = reference_outcomes(ref, function, case, c, seed)
                            expected = _direct(ref, c, repeat_seeds(seed, 1)[0])
                        else:
                            expected = _direct(ref, c)
                except Exception as e:  # noqa: BLE001
                    probs.append(P(name, "cases", f"case {case.id} ({dt}): the reference raised "
                                                  f"{type(e).__name__}: {e}"))
                    continue
                if not case.trajectory and not close(before, _snapshot(c), rtol=0.0, atol=0.0):
                    probs.append(P(name, "inputs", f"case {case.id} ({dt}): the reference modified its inputs"))
                banned_ops = rec.ops & set(assignment.banned_for(function)[1])
                if banned_ops:
                    probs.append(P(name, "banned", f"case {case.id}: the reference runs banned ops "
                                                   f"{sorted(banned_ops)}"))
                if case.random:
                    for o in outcomes:
                        if not o.ok:
                            probs.append(P(name, "property", f"case {case.id} ({dt}): the reference fails "
                                                             f"{o.property}: {o.message}"))
                for m in function.mistakes:
                    if differs[m.id]:
                        continue
                    try:
                        if case.trajectory is not None:
                            got = tj.run_inprocess(m.variant, case.trajectory, c, names)
                            differs[m.id] = tj.part(expected, got, rtol=tol.rtol, atol=tol.atol).step is not None
                        elif case.random:
                            vo = reference_outcomes(m.variant, function, case, c, seed)
                            differs[m.id] = any(not o.ok for o in vo)
                        else:
                            differs[m.id] = not close(expected, call_seeded(m.variant, c), rtol=tol.rtol,
                                                      atol=tol.atol)
                    except Exception:  # noqa: BLE001 - a variant that raises differs
                        differs[m.id] = True
                if (function.gradcheck is not None and case.gradcheck and dt == "float64"
                        and not case.random and case.trajectory is None):
                    gc = function.gradcheck
                    try:
                        pr = gck.probes(gc, c, seed=seed)
                        fwd = gc.trusted if gc.trusted is not None else getattr(reference, gc.forward)
                        report = gck.judge(pr, expected, gck.run_trusted(fwd, pr), names=tj.bind_names(fwd))
                    except Exception as e:  # noqa: BLE001
                        probs.append(P(name, "gradcheck", f"case {case.id}: {type(e).__name__}: {e}"))
                        continue
                    if not report.consistent:
                        probs.append(P(name, "gradcheck", f"case {case.id}: the reference fails its own gradient "
                                                          f"check: {report.message}"))
        for mid, d in differs.items():
            if not d:
                probs.append(P(name, "mistake", f"mistake {mid} never differs from the reference on any case: add a "
                                                "case that shows it"))
        if oracles:
            probs.extend(check_oracle(assignment, function, reference, extra_seeds=extra_seeds))
    for pair in indistinguishable_mistakes(assignment, reference):
        fname, ids = pair.split(": ", 1)
        probs.append(P(fname, "distinct", f"mistakes {ids} give the same result on every case: add a case that "
                                          "tells them apart, or merge them"))
    del torch
    return probs


def lint_catalog(catalog, *, stubs_dir: str | Path | None = None, assignments: Iterable[str] = (),
                 oracles: bool = False) -> list[Problem]:
    """:func:`lint_assignment` for every (or the selected) assignment of a project catalog."""
    import importlib.util

    out: list[Problem] = []
    for a in catalog.assignments:
        if assignments and a.id not in assignments:
            continue
        stub = None
        if stubs_dir is not None:
            path = Path(stubs_dir) / f"{a.id}.py"
            if path.is_file():
                spec = importlib.util.spec_from_file_location(f"grade_stub_{a.id}", path)
                stub = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(stub)
            else:
                out.append(Problem(a.id, "", "stub", f"{path} is missing"))
        out.extend(lint_assignment(a, catalog.references[a.id], stub=stub, oracles=oracles))
    return out
