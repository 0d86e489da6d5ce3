"""Reference ``lstm`` vs torch.nn.LSTM / torch.nn.LSTMCell, plus spec sanity checks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from reference import lstm as ref  # noqa: E402
from reference.specs import lstm as spec_module  # noqa: E402

SPEC = spec_module.ASSIGNMENT
SUBMISSIONS = ROOT / "tests" / "submissions"


def _weights(g, I, H, dtype, w_scale=0.5):
    W_ih = torch.randn(4 * H, I, generator=g, dtype=torch.float64) * w_scale
    W_hh = torch.randn(4 * H, H, generator=g, dtype=torch.float64) * w_scale
    b_ih = torch.randn(4 * H, generator=g, dtype=torch.float64) * 0.5
    b_hh = torch.randn(4 * H, generator=g, dtype=torch.float64) * 0.5
    return [t.to(dtype) for t in (W_ih, W_hh, b_ih, b_hh)]


def _oracle_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    cell = torch.nn.LSTMCell(W_ih.shape[1], h.shape[1]).to(x.dtype)
    with torch.no_grad():
        for p, w in zip((cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh), (W_ih, W_hh, b_ih, b_hh)):
            p.copy_(w)
        return cell(x, (h, c))


def _oracle_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    lstm = torch.nn.LSTM(W_ih.shape[1], h0.shape[1], num_layers=1, batch_first=False).to(x.dtype)
    with torch.no_grad():
        for p, w in zip((lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0),
                        (W_ih, W_hh, b_ih, b_hh)):
            p.copy_(w)
        out, (hn, cn) = lstm(x, (h0.unsqueeze(0), c0.unsqueeze(0)))
    return out, (hn[0], cn[0])


def _oracle_backward(grad_output, x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Autograd through torch.nn.LSTM with the same weights."""
    lstm = torch.nn.LSTM(W_ih.shape[1], h0.shape[1], num_layers=1, batch_first=False).to(x.dtype)
    with torch.no_grad():
        for p, w in zip((lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0),
                        (W_ih, W_hh, b_ih, b_hh)):
            p.copy_(w)
    x, h0, c0 = (t.detach().clone().requires_grad_(True) for t in (x, h0, c0))
    out, _ = lstm(x, (h0.unsqueeze(0), c0.unsqueeze(0)))
    wrt = (x, h0, c0, lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
    grads = torch.autograd.grad(out, wrt, grad_outputs=grad_output)
    return dict(zip(("x", "h0", "c0", "W_ih", "W_hh", "b_ih", "b_hh"), grads))


def _flat(v):
    if isinstance(v, torch.Tensor):
        return [v]
    if isinstance(v, dict):
        return [t for k in sorted(v) for t in _flat(v[k])]
    return [t for item in v for t in _flat(item)]


def _assert_close(got, exp, **kw):
    got, exp = _flat(got), _flat(exp)
    assert len(got) == len(exp)
    for a, b in zip(got, exp):
        assert a.dtype == b.dtype and a.device == b.device
        torch.testing.assert_close(a, b, **kw)


SIZES = [(1, 1, 1), (3, 4, 5), (1, 6, 2), (4, 2, 8), (2, 5, 5)]  # (N, I, H)


@pytest.mark.parametrize("N,I,H", SIZES)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("w_scale", [0.3, 2.0])
def test_cell_matches_torch_float64(N, I, H, seed, w_scale):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, I, generator=g, dtype=torch.float64)
    h = torch.randn(N, H, generator=g, dtype=torch.float64)
    c = torch.randn(N, H, generator=g, dtype=torch.float64) * 2
    W = _weights(g, I, H, torch.float64, w_scale)
    _assert_close(ref.lstm_cell(x, h, c, *W), _oracle_cell(x, h, c, *W), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("T", [1, 2, 5, 12])
@pytest.mark.parametrize("N,I,H", SIZES)
@pytest.mark.parametrize("zero_state", [False, True])
def test_forward_matches_torch_float64(T, N, I, H, zero_state):
    g = torch.Generator().manual_seed(T * 100 + N * 10 + H)
    x = torch.randn(T, N, I, generator=g, dtype=torch.float64)
    h0 = torch.randn(N, H, generator=g, dtype=torch.float64)
    c0 = torch.randn(N, H, generator=g, dtype=torch.float64)
    if zero_state:
        h0, c0 = torch.zeros_like(h0), torch.zeros_like(c0)
    W = _weights(g, I, H, torch.float64, 1.0)
    got = ref.lstm_forward(x, h0, c0, *W)
    assert got[0].shape == (T, N, H)
    _assert_close(got, _oracle_forward(x, h0, c0, *W), rtol=1e-10, atol=1e-12)


def test_float32_matches_torch():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(6, 3, 4, generator=g)
    h0, c0 = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    W = _weights(g, 4, 5, torch.float32)
    _assert_close(ref.lstm_forward(x, h0, c0, *W), _oracle_forward(x, h0, c0, *W), rtol=1e-5, atol=1e-6)
    _assert_close(ref.lstm_cell(x[0], h0, c0, *W), _oracle_cell(x[0], h0, c0, *W), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_large_magnitude_1e4(dtype):
    g = torch.Generator().manual_seed(9)
    x = (torch.randn(4, 2, 3, generator=g, dtype=torch.float64) * 1e4).to(dtype)
    h0, c0 = torch.randn(2, 3, generator=g).to(dtype), torch.randn(2, 3, generator=g).to(dtype)
    W = _weights(g, 3, 3, dtype)
    got = ref.lstm_forward(x, h0, c0, *W)
    for t in _flat(got):
        assert torch.isfinite(t).all()
    exp = _oracle_forward(*[a.double() for a in (x, h0, c0, *W)])
    for a, b in zip(_flat(got), _flat(exp)):
        torch.testing.assert_close(a.double(), b, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("T", [1, 2, 6])
@pytest.mark.parametrize("N,I,H", SIZES)
@pytest.mark.parametrize("zero_state", [False, True])
def test_backward_matches_autograd_float64(T, N, I, H, zero_state):
    g = torch.Generator().manual_seed(T * 1000 + N * 10 + H + zero_state)
    x = torch.randn(T, N, I, generator=g, dtype=torch.float64)
    h0 = torch.randn(N, H, generator=g, dtype=torch.float64)
    c0 = torch.randn(N, H, generator=g, dtype=torch.float64)
    if zero_state:
        h0, c0 = torch.zeros_like(h0), torch.zeros_like(c0)
    W = _weights(g, I, H, torch.float64, 1.0)
    dout = torch.randn(T, N, H, generator=g, dtype=torch.float64)
    got = ref.lstm_backward(dout, x, h0, c0, *W)
    exp = _oracle_backward(dout, x, h0, c0, *W)
    assert set(got) == set(exp)
    for k in exp:
        assert got[k].shape == exp[k].shape, k
    _assert_close(_flat(got), _flat(exp), rtol=1e-9, atol=1e-11)


def test_inputs_not_modified():
    g = torch.Generator().manual_seed(3)
    args = [torch.randn(5, 2, 3, generator=g, dtype=torch.float64), torch.randn(2, 4, generator=g, dtype=torch.float64),
            torch.randn(2, 4, generator=g, dtype=torch.float64), *_weights(g, 3, 4, torch.float64)]
    before = [a.clone() for a in args]
    ref.lstm_forward(*args)
    ref.lstm_cell(args[0][0], *args[1:])
    ref.lstm_backward(torch.randn(5, 2, 4, generator=g, dtype=torch.float64), *args)
    for a, b in zip(args, before):
        assert torch.equal(a, b)


# --------------------------------------------------------------------------- #
# Spec sanity
# --------------------------------------------------------------------------- #

_ORACLES = {"lstm_cell": _oracle_cell, "lstm_forward": _oracle_forward, "lstm_backward": _oracle_backward}


_rc_spec = importlib.util.spec_from_file_location("_refcheck_lstm", Path(__file__).with_name("_refcheck.py"))
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
        assert _close(exp, _ORACLES[function.name](*c.args, **c.kwargs), tol), case.id
        refs.append(exp)
        for m in function.mistakes:
            outs[m.id].append(m.variant(*c.args, **c.kwargs))
    for m in function.mistakes:
        assert any(not _close(o, e, tol) for o, e in zip(outs[m.id], refs)), f"{m.id} never differs"
    ids = [m.id for m in function.mistakes]
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            assert any(not _close(x, y, tol) for x, y in zip(outs[a], outs[b])), f"{a} vs {b} indistinguishable"


def test_required_mistakes_present_in_both_functions():
    both = {"lstm_gate_order_ifog", "lstm_cell_uses_old_c_for_h", "lstm_forget_gate_missing"}
    for name in ("lstm_cell", "lstm_forward"):
        assert both <= {m.id for m in SPEC.function(name).mistakes}
    assert {"lstm_bptt_no_cell_path", "lstm_bptt_no_recurrent_grad", "lstm_bptt_weights_not_summed"} <= {
        m.id for m in SPEC.function("lstm_backward").mistakes}
    assert "lstm_state_not_carried" in {m.id for m in SPEC.function("lstm_forward").mistakes}
    for function in SPEC.functions:
        for m in function.mistakes:
            assert (SUBMISSIONS / "buggy" / "lstm" / f"{m.id}.py").exists(), m.id


@pytest.mark.parametrize("path", sorted((SUBMISSIONS / "correct" / "lstm").glob("*.py")), ids=lambda p: p.stem)
def test_correct_fixtures_pass_spec_cases(path):
    mod = _load(path)
    for function in SPEC.functions:
        tol = SPEC.tolerance_for(function, function.cases[0], "float64")
        for case, c in _spec_calls(function):
            exp = getattr(ref, function.name)(*c.args, **c.kwargs)
            assert _close(getattr(mod, function.name)(*c.args, **c.kwargs), exp, tol), (function.name, case.id)


@pytest.mark.parametrize("path", sorted((SUBMISSIONS / "buggy" / "lstm").glob("*.py")), ids=lambda p: p.stem)
def test_buggy_fixtures_match_their_mistake(path):
    mod = _load(path)
    found = set()
    applicable = set()
    for function in SPEC.functions:
        mistakes = {m.id: m for m in function.mistakes}
        if path.stem in mistakes:
            applicable.add(function.name)
        tol = SPEC.tolerance_for(function, function.cases[0], "float64")
        for case, c in _spec_calls(function):
            exp = getattr(ref, function.name)(*c.args, **c.kwargs)
            got = getattr(mod, function.name)(*c.args, **c.kwargs)
            if _close(got, exp, tol):
                continue
            if path.stem in mistakes and _close(got, mistakes[path.stem].variant(*c.args, **c.kwargs), tol):
                found.add(function.name)
    assert applicable and found == applicable, f"{path.stem}: matched in {found}, expected in {applicable}"
