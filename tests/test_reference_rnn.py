"""Reference ``rnn`` vs torch.nn.RNN/GRU (copied weights) and autograd (the spec's oracles),
plus spec sanity and in-process checks of the fixtures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

_spec = importlib.util.spec_from_file_location("_refcheck_rnn", Path(__file__).with_name("_refcheck.py"))
rc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rc)

ref, ASSIGNMENT = rc.load_pair("rnn")
SUBMISSIONS = rc.ROOT / "tests" / "submissions"
ORACLE = {f.name: f.oracle for f in ASSIGNMENT.functions}


def _inputs(seed, T, N, I, H, gates, *, w_scale=0.6, zero_state=False, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s, scale=1.0: (torch.randn(*s, generator=g, dtype=torch.float64) * scale).to(dtype)  # noqa: E731
    x = r(T, N, I)
    h0 = torch.zeros(N, H, dtype=dtype) if zero_state else r(N, H)
    W = (r(gates * H, I, scale=w_scale), r(gates * H, H, scale=w_scale), r(gates * H, scale=0.5),
         r(gates * H, scale=0.5))
    return x, h0, W, r(T, N, H)


SIZES = [(1, 1, 1, 1), (1, 2, 3, 4), (5, 3, 4, 5), (6, 1, 2, 3), (4, 2, 5, 2), (12, 2, 3, 6)]  # (T, N, I, H)


@pytest.mark.parametrize("T,N,I,H", SIZES)
@pytest.mark.parametrize("zero_state", [False, True])
@pytest.mark.parametrize("w_scale", [0.5, 2.0])
def test_matches_torch_float64(T, N, I, H, zero_state, w_scale):
    x, h0, W, dout = _inputs(T * 100 + N * 10 + H, T, N, I, H, 1, w_scale=w_scale, zero_state=zero_state)
    assert rc.close(ref.rnn_cell(x[0], h0, *W), ORACLE["rnn_cell"](x[0], h0, *W), rtol=1e-10, atol=1e-12)
    assert rc.close(ref.rnn_forward(x, h0, *W), ORACLE["rnn_forward"](x, h0, *W), rtol=1e-10, atol=1e-12)
    got = ref.rnn_backward(dout, x, h0, *W)
    exp = ORACLE["rnn_backward"](dout, x, h0, *W)
    assert set(got) == {"x", "h0", "W_ih", "W_hh", "b_ih", "b_hh"}
    assert rc.close(got, exp, rtol=1e-9, atol=1e-11)
    x, h0, W, _ = _inputs(T * 100 + N * 10 + H + 1, T, N, I, H, 3, w_scale=w_scale, zero_state=zero_state)
    assert rc.close(ref.gru_cell(x[0], h0, *W), ORACLE["gru_cell"](x[0], h0, *W), rtol=1e-10, atol=1e-12)
    assert rc.close(ref.gru_forward(x, h0, *W), ORACLE["gru_forward"](x, h0, *W), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_and_large_inputs(dtype):
    for gates, names in ((1, ("rnn_forward", "rnn_backward")), (3, ("gru_forward",))):
        x, h0, W, dout = _inputs(7, 4, 2, 3, 4, gates, dtype=dtype)
        x = x * 1e4
        for name in names:
            args = (dout, x, h0, *W) if name.endswith("backward") else (x, h0, *W)
            got = getattr(ref, name)(*args)
            exp = ORACLE[name](*[a.double() for a in args])
            for a, b in zip(_flat(got), _flat(exp)):
                assert a.dtype == dtype and torch.isfinite(a).all()
                torch.testing.assert_close(a.double(), b, rtol=1e-3, atol=1e-3)


def _flat(v):
    if isinstance(v, torch.Tensor):
        return [v]
    if isinstance(v, dict):
        return [t for k in sorted(v) for t in _flat(v[k])]
    return [t for item in v for t in _flat(item)]


def test_inputs_not_modified():
    x, h0, W, dout = _inputs(3, 5, 2, 3, 4, 1)
    args = [dout, x, h0, *W]
    before = [a.clone() for a in args]
    ref.rnn_backward(*args)
    ref.rnn_forward(*args[1:])
    ref.rnn_cell(x[0], h0, *W)
    assert all(torch.equal(a, b) for a, b in zip(args, before))


def test_reference_obeys_banned_list():
    assert rc.static_hits(rc.ROOT / "reference" / "rnn.py", ASSIGNMENT.banned) == []


def test_spec_cases_and_mistakes():
    assert rc.check_spec(ref, ASSIGNMENT) == []


def test_spec_cases_match_oracles():
    for fn, case, c in rc.instances(ASSIGNMENT):
        assert rc.close(getattr(ref, fn.name)(*c.args, **c.kwargs), fn.oracle(*c.args, **c.kwargs),
                        rtol=1e-9, atol=1e-11), (fn.name, case.id)


def test_required_mistakes_present():
    ids = {f.name: {m.id for m in f.mistakes} for f in ASSIGNMENT.functions}
    assert {"bptt_no_recurrent_grad", "bptt_weights_not_summed", "bptt_dh0_zeros"} <= ids["rnn_backward"]
    for name in ("gru_cell", "gru_forward"):
        assert {"gru_z_swapped", "gru_reset_before_matmul", "gru_gate_order_zrn"} <= ids[name]
    for mid in set().union(*ids.values()):
        assert (SUBMISSIONS / "buggy" / "rnn" / f"{mid}.py").exists(), mid


@pytest.mark.parametrize("path", sorted((SUBMISSIONS / "correct" / "rnn").glob("*.py")), ids=lambda p: p.stem)
def test_correct_fixtures_pass_spec_cases(path):
    mod = rc.load(f"_sub_rnn_{path.stem}", path.relative_to(rc.ROOT))
    for fn, case, c in rc.instances(ASSIGNMENT):
        tol = ASSIGNMENT.tolerance_for(fn, case, "float64")
        exp = getattr(ref, fn.name)(*c.args, **c.kwargs)
        assert rc.close(exp, getattr(mod, fn.name)(*c.args, **c.kwargs), rtol=tol.rtol, atol=tol.atol), \
            (fn.name, case.id)


@pytest.mark.parametrize("path", sorted((SUBMISSIONS / "buggy" / "rnn").glob("*.py")), ids=lambda p: p.stem)
def test_buggy_fixtures_match_their_mistake(path):
    mod = rc.load(f"_bug_rnn_{path.stem}", path.relative_to(rc.ROOT))
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
