"""Reference ``layernorm`` vs torch.nn.functional.layer_norm and autograd (the spec's oracles),
plus spec sanity and in-process checks of the fixtures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

_spec = importlib.util.spec_from_file_location("_refcheck_layernorm", Path(__file__).with_name("_refcheck.py"))
rc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rc)

ref, ASSIGNMENT = rc.load_pair("layernorm")
SUBMISSIONS = rc.ROOT / "tests" / "submissions"
ORACLE = {f.name: f.oracle for f in ASSIGNMENT.functions}
TOL = dict(rtol=1e-9, atol=1e-11)


def _inputs(seed, shape, *, scale=1.0, shift=0.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    D = shape[-1]
    x = torch.randn(shape, generator=g, dtype=torch.float64) * scale + shift
    gamma = torch.randn(D, generator=g, dtype=torch.float64) * 0.5 + 1
    beta = torch.randn(D, generator=g, dtype=torch.float64) * 0.5
    dout = torch.randn(shape, generator=g, dtype=torch.float64)
    return [t.to(dtype) for t in (x, gamma, beta, dout)]


@pytest.mark.parametrize("shape", [(1,), (6,), (4, 6), (1, 8), (5, 1), (2, 3, 5), (2, 2, 3, 4)])
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_matches_torch_float64(shape, eps):
    x, gamma, beta, dout = _inputs(sum(shape), shape)
    assert rc.close(ORACLE["layernorm_forward"](x, gamma, beta, eps), ref.layernorm_forward(x, gamma, beta, eps), **TOL)
    assert rc.close(ORACLE["layernorm_backward"](dout, x, gamma, eps), ref.layernorm_backward(dout, x, gamma, eps),
                    **TOL)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale,shift", [(1e4, 0.0), (1.0, 1e4)])
def test_large_magnitudes(dtype, scale, shift):
    x, gamma, beta, dout = _inputs(9, (4, 8), scale=scale, shift=shift)
    got = ref.layernorm_forward(*[t.to(dtype) for t in (x, gamma, beta)])
    assert got.dtype == dtype and torch.isfinite(got).all()
    # the float32 input x = 1e4 + N(0, 1) is itself quantized to ~1e-3
    torch.testing.assert_close(got.double(), ORACLE["layernorm_forward"](x.to(dtype).double(), gamma, beta),
                               rtol=1e-3, atol=1e-2 if dtype == torch.float32 else 1e-9)
    dx, dg, db = ref.layernorm_backward(*[t.to(dtype) for t in (dout, x, gamma)])
    assert all(t.dtype == dtype and torch.isfinite(t).all() for t in (dx, dg, db))


def test_constant_rows_give_beta():
    x = torch.tensor([[2.5, 2.5, 2.5], [1.0, -1.0, 0.0]], dtype=torch.float32)
    gamma, beta = torch.tensor([2.0, 3.0, 4.0]), torch.tensor([0.5, -0.5, 1.0])
    assert torch.equal(ref.layernorm_forward(x, gamma, beta)[0], beta)


def test_inputs_not_modified():
    x, gamma, beta, dout = _inputs(3, (2, 3, 4))
    before = [t.clone() for t in (x, gamma, beta, dout)]
    ref.layernorm_forward(x, gamma, beta)
    ref.layernorm_backward(dout, x, gamma)
    assert all(torch.equal(a, b) for a, b in zip((x, gamma, beta, dout), before))


def test_reference_obeys_banned_list():
    assert rc.static_hits(rc.ROOT / "reference" / "layernorm.py", ASSIGNMENT.banned) == []


def test_spec_cases_and_mistakes():
    assert rc.check_spec(ref, ASSIGNMENT) == []


def test_spec_cases_match_oracles():
    for fn, case, c in rc.instances(ASSIGNMENT):
        assert rc.close(getattr(ref, fn.name)(*c.args, **c.kwargs), fn.oracle(*c.args, **c.kwargs), **TOL), \
            (fn.name, case.id)


def test_required_mistakes_present():
    ids = {f.name: {m.id for m in f.mistakes} for f in ASSIGNMENT.functions}
    assert {"ln_over_batch_axis", "ln_unbiased_var"} <= ids["layernorm_forward"]
    for mid in set().union(*ids.values()):
        assert (SUBMISSIONS / "buggy" / "layernorm" / f"{mid}.py").exists(), mid


@pytest.mark.parametrize("path", sorted((SUBMISSIONS / "correct" / "layernorm").glob("*.py")), ids=lambda p: p.stem)
def test_correct_fixtures_pass_spec_cases(path):
    mod = rc.load(f"_sub_layernorm_{path.stem}", path.relative_to(rc.ROOT))
    for fn, case, c in rc.instances(ASSIGNMENT):
        tol = ASSIGNMENT.tolerance_for(fn, case, "float64")
        exp = getattr(ref, fn.name)(*c.args, **c.kwargs)
        assert rc.close(exp, getattr(mod, fn.name)(*c.args, **c.kwargs), rtol=tol.rtol, atol=tol.atol), \
            (fn.name, case.id)


@pytest.mark.parametrize("path", sorted((SUBMISSIONS / "buggy" / "layernorm").glob("*.py")), ids=lambda p: p.stem)
def test_buggy_fixtures_match_their_mistake(path):
    mod = rc.load(f"_bug_layernorm_{path.stem}", path.relative_to(rc.ROOT))
    applicable = {f.name for f in ASSIGNMENT.functions if path.stem in {m.id for m in f.mistakes}}
    found = set()
    for fn, case, c in rc.instances(ASSIGNMENT):
        tol = ASSIGNMENT.tolerance_for(fn, case, "float64")
        exp = getattr(ref, fn.name)(*c.args, **c.kwargs)
        got = getattr(mod, fn.name)(*c.args, **c.kwargs)
        if rc.close(exp, got, rtol=tol.rtol, atol=tol.atol):
            continue
        assert fn.name in applicable, f"{path.stem} also fails {fn.name}[{case.id}]"
        variant = {m.id: m for m in fn.mistakes}[path.stem].variant
        if rc.close(variant(*c.args, **c.kwargs), got, rtol=tol.rtol, atol=tol.atol):
            found.add(fn.name)
    assert applicable and found == applicable
