"""Reference ``losses`` vs torch.nn.MultiMarginLoss (times C), F.binary_cross_entropy_with_logits and
autograd (the spec's oracles), plus spec sanity and in-process checks of the fixtures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

_spec = importlib.util.spec_from_file_location("_refcheck_losses", Path(__file__).with_name("_refcheck.py"))
rc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rc)

ref, ASSIGNMENT = rc.load_pair("losses")
SUBMISSIONS = rc.ROOT / "tests" / "submissions"
ORACLE = {f.name: f.oracle for f in ASSIGNMENT.functions}
TOL = dict(rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("n,c", [(1, 2), (4, 5), (8, 50), (3, 3)])
@pytest.mark.parametrize("margin", [1.0, 0.5, 2.0, 0.0])
@pytest.mark.parametrize("ints", [False, True])
def test_svm_matches_torch(n, c, margin, ints):
    g = torch.Generator().manual_seed(n * 100 + c)
    s = torch.randint(0, 4, (n, c), generator=g).double() if ints else torch.randn(n, c, generator=g,
                                                                                  dtype=torch.float64)
    y = torch.randint(0, c, (n,), generator=g)
    assert rc.close(ORACLE["svm_loss"](s, y, margin), ref.svm_loss(s, y, margin), **TOL)
    # integer scores make margins of exactly 0: inactive for torch's kernel too
    assert rc.close(ORACLE["svm_loss_grad"](s, y, margin), ref.svm_loss_grad(s, y, margin), **TOL)


@pytest.mark.parametrize("shape", [(), (7,), (4, 5), (2, 3, 4)])
@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
@pytest.mark.parametrize("soft", [False, True])
def test_bce_matches_torch(shape, scale, soft):
    g = torch.Generator().manual_seed(len(shape) * 7 + int(soft))
    z = torch.randn(shape, generator=g, dtype=torch.float64) * scale
    t = torch.rand(shape, generator=g, dtype=torch.float64) if soft else torch.randint(0, 2, shape, generator=g).double()
    assert rc.close(ORACLE["binary_cross_entropy_with_logits"](z, t), ref.binary_cross_entropy_with_logits(z, t), **TOL)
    assert rc.close(ORACLE["binary_cross_entropy_with_logits_grad"](z, t),
                    ref.binary_cross_entropy_with_logits_grad(z, t), **TOL)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_extremes_finite_and_exact(dtype):
    z = torch.tensor([1e4, -1e4, 1e4, -1e4, 0.0, 40.0, -40.0], dtype=dtype)
    t = torch.tensor([1.0, 0.0, 0.25, 0.75, 0.5, 1.0, 0.0], dtype=dtype)
    loss = ref.binary_cross_entropy_with_logits(z, t)
    grad = ref.binary_cross_entropy_with_logits_grad(z, t)
    assert loss.dtype == dtype and grad.dtype == dtype and torch.isfinite(loss) and torch.isfinite(grad).all()
    torch.testing.assert_close(loss.double(), ORACLE["binary_cross_entropy_with_logits"](z.double(), t.double()),
                               rtol=1e-6, atol=1e-6)
    s = torch.randn(3, 4, dtype=dtype) * 1e4
    assert ref.svm_loss(s, torch.tensor([0, 3, 1]), 1.0).dtype == dtype


def test_inputs_not_modified():
    s, y = torch.randn(4, 5, dtype=torch.float64), torch.tensor([0, 4, 2, 2])
    z, t = torch.randn(3, 3, dtype=torch.float64), torch.rand(3, 3, dtype=torch.float64)
    before = [a.clone() for a in (s, y, z, t)]
    ref.svm_loss(s, y), ref.svm_loss_grad(s, y)
    ref.binary_cross_entropy_with_logits(z, t), ref.binary_cross_entropy_with_logits_grad(z, t)
    assert all(torch.equal(a, b) for a, b in zip((s, y, z, t), before))


def test_reference_obeys_banned_list():
    assert rc.static_hits(rc.ROOT / "reference" / "losses.py", ASSIGNMENT.banned) == []


def test_spec_cases_and_mistakes():
    assert rc.check_spec(ref, ASSIGNMENT) == []


def test_spec_cases_match_oracles():
    for fn, case, c in rc.instances(ASSIGNMENT):
        assert rc.close(getattr(ref, fn.name)(*c.args, **c.kwargs), fn.oracle(*c.args, **c.kwargs), **TOL), \
            (fn.name, case.id)


def test_required_mistakes_present():
    ids = {f.name: {m.id for m in f.mistakes} for f in ASSIGNMENT.functions}
    assert {"svm_counts_correct_class", "svm_margin_sign"} <= ids["svm_loss"]
    assert {"bce_unstable_log_sigmoid", "bce_sum_not_mean"} <= ids["binary_cross_entropy_with_logits"]
    for mid in set().union(*ids.values()):
        assert (SUBMISSIONS / "buggy" / "losses" / f"{mid}.py").exists(), mid


@pytest.mark.parametrize("path", sorted((SUBMISSIONS / "correct" / "losses").glob("*.py")), ids=lambda p: p.stem)
def test_correct_fixtures_pass_spec_cases(path):
    mod = rc.load(f"_sub_losses_{path.stem}", path.relative_to(rc.ROOT))
    for fn, case, c in rc.instances(ASSIGNMENT):
        tol = ASSIGNMENT.tolerance_for(fn, case, "float64")
        exp = getattr(ref, fn.name)(*c.args, **c.kwargs)
        assert rc.close(exp, getattr(mod, fn.name)(*c.args, **c.kwargs), rtol=tol.rtol, atol=tol.atol), \
            (fn.name, case.id)


@pytest.mark.parametrize("path", sorted((SUBMISSIONS / "buggy" / "losses").glob("*.py")), ids=lambda p: p.stem)
def test_buggy_fixtures_match_their_mistake(path):
    mod = rc.load(f"_bug_losses_{path.stem}", path.relative_to(rc.ROOT))
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
