"""Reference ``batchnorm`` vs torch.nn.BatchNorm1d/2d, plus spec sanity checks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from reference import batchnorm as ref  # noqa: E402
from reference.specs import batchnorm as spec_module  # noqa: E402

SPEC = spec_module.ASSIGNMENT
SUBMISSIONS = ROOT / "tests" / "submissions"


def _oracle(x, gamma, beta, rm, rv, training, momentum=0.1, eps=1e-5):
    C = x.shape[1]
    cls = torch.nn.BatchNorm2d if x.dim() == 4 else torch.nn.BatchNorm1d
    bn = cls(C, eps=eps, momentum=momentum).to(x.dtype)
    with torch.no_grad():
        bn.weight.copy_(gamma)
        bn.bias.copy_(beta)
        bn.running_mean.copy_(rm)
        bn.running_var.copy_(rv)
    bn.train(training)
    with torch.no_grad():
        out = bn(x)
    return out, bn.running_mean.clone(), bn.running_var.clone()


def _inputs(seed, shape, dtype=torch.float64, scale=1.0, shift=0.0, rm_shift=0.0, rv_range=(0.5, 2.0)):
    g = torch.Generator().manual_seed(seed)
    C = shape[1]
    x = torch.randn(shape, generator=g, dtype=torch.float64) * scale + shift
    gamma = torch.randn(C, generator=g, dtype=torch.float64) * 0.5 + 1.0
    beta = torch.randn(C, generator=g, dtype=torch.float64) * 0.5
    rm = torch.randn(C, generator=g, dtype=torch.float64) * 0.5 + rm_shift
    rv = torch.rand(C, generator=g, dtype=torch.float64) * (rv_range[1] - rv_range[0]) + rv_range[0]
    return [t.to(dtype) for t in (x, gamma, beta, rm, rv)]


def _assert_all_close(got, exp, **kw):
    assert len(got) == len(exp)
    for a, b in zip(got, exp):
        assert a.dtype == b.dtype and a.device == b.device
        torch.testing.assert_close(a, b, **kw)


SHAPES = [(8, 4), (2, 5), (4, 3, 5), (1, 3, 6), (2, 2, 1), (3, 4, 2, 3), (1, 2, 3, 3), (5, 1, 2, 2)]
HYPER = [(0.1, 1e-5), (0.3, 0.5), (1.0, 1e-3), (0.0, 1e-5)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("momentum,eps", HYPER)
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_torch_float64(shape, training, momentum, eps, seed):
    args = _inputs(seed, shape, rm_shift=5.0 * seed, rv_range=(8.0, 10.0) if seed else (0.05, 0.3))
    got = ref.batchnorm_forward(*args, training, momentum=momentum, eps=eps)
    exp = _oracle(*args, training, momentum=momentum, eps=eps)
    _assert_all_close(got, exp, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(8, 4), (4, 3, 5), (3, 4, 2, 3)])
@pytest.mark.parametrize("training", [True, False])
def test_matches_torch_float32(shape, training):
    args = _inputs(7, shape, dtype=torch.float32)
    got = ref.batchnorm_forward(*args, training, momentum=0.2, eps=1e-3)
    exp = _oracle(*args, training, momentum=0.2, eps=1e-3)
    _assert_all_close(got, exp, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("training", [True, False])
def test_large_magnitude_1e4(dtype, training):
    args = _inputs(3, (4, 3, 2, 2), scale=1e4, shift=3e4, rm_shift=3e4, rv_range=(1e7, 1e8))
    exp = _oracle(*args, training)  # computed in float64
    got = ref.batchnorm_forward(*[a.to(dtype) for a in args], training)
    for a, b in zip(got, exp):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a.double(), b, rtol=1e-4 if dtype == torch.float32 else 1e-9, atol=1e-3)


def test_inputs_not_modified_and_outputs_are_new():
    for training in (True, False):
        args = _inputs(11, (3, 4, 5))
        before = [a.clone() for a in args]
        out, rm, rv = ref.batchnorm_forward(*args, training, momentum=0.3, eps=0.5)
        for a, b in zip(args, before):
            assert torch.equal(a, b)
        assert rm.data_ptr() != args[3].data_ptr() and rv.data_ptr() != args[4].data_ptr()


def test_formula_by_hand_small_batch():
    # N = 2: biased variance = ((a - b) / 2)^2, unbiased = (a - b)^2 / 2
    x = torch.tensor([[1.0, -2.0], [3.0, 4.0]], dtype=torch.float64)
    ones, zeros = torch.ones(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    out, rm, rv = ref.batchnorm_forward(x, ones, zeros, zeros, ones, True, momentum=1.0, eps=0.0)
    torch.testing.assert_close(out, torch.tensor([[-1.0, -1.0], [1.0, 1.0]], dtype=torch.float64))
    torch.testing.assert_close(rm, torch.tensor([2.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(rv, torch.tensor([2.0, 18.0], dtype=torch.float64))


# --------------------------------------------------------------------------- #
# Spec sanity
# --------------------------------------------------------------------------- #


_rc_spec = importlib.util.spec_from_file_location("_refcheck_batchnorm", Path(__file__).with_name("_refcheck.py"))
_rc = importlib.util.module_from_spec(_rc_spec)
_rc_spec.loader.exec_module(_rc)


def _close(a, b, tol):
    return _rc.close(a, b, rtol=tol.rtol, atol=tol.atol)


def _spec_calls(function):
    g = torch.Generator().manual_seed(123)
    for case in function.cases:
        yield case, case.make(g, torch.float64)


def _load(path):
    return _rc.load(f"_sub_{path.parent.name}_{path.stem}", path)


@pytest.mark.parametrize("function", SPEC.functions, ids=lambda f: f.name)
def test_spec_cases_and_mistakes(function):
    assert 4 <= len(function.cases) <= 10 and any(c.hidden for c in function.cases)
    tol = SPEC.tolerance_for(function, function.cases[0], "float64")
    outs = {m.id: [] for m in function.mistakes}
    refs = []
    for case, c in _spec_calls(function):
        exp = getattr(ref, function.name)(*c.args, **c.kwargs)
        # the reference agrees with the oracle on every spec case
        oracle = _oracle if function.name == "batchnorm_forward" else function.oracle
        assert _close(exp, oracle(*c.args, **c.kwargs), tol), case.id
        refs.append(exp)
        for m in function.mistakes:
            outs[m.id].append(m.variant(*c.args, **c.kwargs))
    for m in function.mistakes:
        assert any(not _close(o, e, tol) for o, e in zip(outs[m.id], refs)), f"{m.id} never differs"
    ids = [m.id for m in function.mistakes]
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            assert any(not _close(x, y, tol) for x, y in zip(outs[a], outs[b])), f"{a} vs {b} indistinguishable"


@pytest.mark.parametrize("path", sorted((SUBMISSIONS / "correct" / "batchnorm").glob("*.py")), ids=lambda p: p.stem)
def test_correct_fixtures_pass_spec_cases(path):
    mod = _load(path)
    for function in SPEC.functions:
        tol = SPEC.tolerance_for(function, function.cases[0], "float64")
        for case, c in _spec_calls(function):
            exp = getattr(ref, function.name)(*c.args, **c.kwargs)
            assert _close(getattr(mod, function.name)(*c.args, **c.kwargs), exp, tol), (function.name, case.id)


@pytest.mark.parametrize("path", sorted((SUBMISSIONS / "buggy" / "batchnorm").glob("*.py")), ids=lambda p: p.stem)
def test_buggy_fixtures_match_their_mistake(path):
    mod = _load(path)
    found = False
    for function in SPEC.functions:
        mistakes = {m.id: m for m in function.mistakes}
        tol = SPEC.tolerance_for(function, function.cases[0], "float64")
        for case, c in _spec_calls(function):
            exp = getattr(ref, function.name)(*c.args, **c.kwargs)
            got = getattr(mod, function.name)(*c.args, **c.kwargs)
            if _close(got, exp, tol):
                continue
            if path.stem in mistakes and _close(got, mistakes[path.stem].variant(*c.args, **c.kwargs), tol):
                found = True
    assert found, f"{path.stem}: no failing case matches the spec variant"


@pytest.mark.parametrize("shape", [(8, 4), (2, 5), (4, 3, 5), (1, 3, 6), (3, 4, 2, 3), (1, 2, 3, 3)])
@pytest.mark.parametrize("eps", [1e-5, 0.5])
def test_backward_matches_autograd(shape, eps):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(shape, generator=g, dtype=torch.float64) * 2 + 1
    gamma = torch.randn(shape[1], generator=g, dtype=torch.float64) * 0.5 + 1
    dout = torch.randn(shape, generator=g, dtype=torch.float64)
    xl, gl = x.clone().requires_grad_(), gamma.clone().requires_grad_()
    bl = torch.zeros_like(gamma, requires_grad=True)
    out = torch.nn.functional.batch_norm(xl, None, None, gl, bl, training=True, eps=eps)
    exp = torch.autograd.grad(out, (xl, gl, bl), dout)
    got = ref.batchnorm_backward(dout, x, gamma, eps=eps)
    _assert_all_close(got, exp, rtol=1e-9, atol=1e-11)


def test_required_mistake_ids_present():
    required = {"bn_batch_stats_at_inference", "bn_biased_running_var", "bn_momentum_flipped",
                "bn_eps_outside_sqrt", "bn_wrong_axes", "bn_unbiased_normalization"}
    ids = {m.id for m in SPEC.function("batchnorm_forward").mistakes}
    assert required <= ids
    backward = {m.id for m in SPEC.function("batchnorm_backward").mistakes}
    assert {"bn_backward_naive_dx", "bn_backward_dgamma_no_xhat"} <= backward
    ids |= backward
    for mid in ids:
        assert (SUBMISSIONS / "buggy" / "batchnorm" / f"{mid}.py").exists(), mid
