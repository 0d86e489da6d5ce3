"""Reference ``lstm`` vs torch.nn.LSTM / torch.nn.LSTMCell and autograd, over many sizes and lengths."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
ref = CATALOG.references["lstm"]
ASSIGNMENT = CATALOG.get("lstm")


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


SIZES = [(1, 1, 1), (3, 4, 5), (1, 6, 2), (4, 2, 8), (2, 5, 5)]  # (N, I, H)


@pytest.mark.parametrize("N,I,H", SIZES)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("w_scale", [0.3, 2.0])
def test_cell_matches_torch_float64(N, I, H, seed, w_scale, assert_tensors_close):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, I, generator=g, dtype=torch.float64)
    h = torch.randn(N, H, generator=g, dtype=torch.float64)
    c = torch.randn(N, H, generator=g, dtype=torch.float64) * 2
    W = _weights(g, I, H, torch.float64, w_scale)
    assert_tensors_close(ref.lstm_cell(x, h, c, *W), _oracle_cell(x, h, c, *W), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("T", [1, 2, 5, 12])
@pytest.mark.parametrize("N,I,H", SIZES)
@pytest.mark.parametrize("zero_state", [False, True])
def test_forward_matches_torch_float64(T, N, I, H, zero_state, assert_tensors_close):
    g = torch.Generator().manual_seed(T * 100 + N * 10 + H)
    x = torch.randn(T, N, I, generator=g, dtype=torch.float64)
    h0 = torch.randn(N, H, generator=g, dtype=torch.float64)
    c0 = torch.randn(N, H, generator=g, dtype=torch.float64)
    if zero_state:
        h0, c0 = torch.zeros_like(h0), torch.zeros_like(c0)
    W = _weights(g, I, H, torch.float64, 1.0)
    got = ref.lstm_forward(x, h0, c0, *W)
    assert got[0].shape == (T, N, H)
    assert_tensors_close(got, _oracle_forward(x, h0, c0, *W), rtol=1e-10, atol=1e-12)


def test_float32_matches_torch(assert_tensors_close):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(6, 3, 4, generator=g)
    h0, c0 = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    W = _weights(g, 4, 5, torch.float32)
    assert_tensors_close(ref.lstm_forward(x, h0, c0, *W), _oracle_forward(x, h0, c0, *W), rtol=1e-5, atol=1e-6)
    assert_tensors_close(ref.lstm_cell(x[0], h0, c0, *W), _oracle_cell(x[0], h0, c0, *W), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_large_magnitude_1e4(dtype, assert_tensors_close):
    g = torch.Generator().manual_seed(9)
    x = (torch.randn(4, 2, 3, generator=g, dtype=torch.float64) * 1e4).to(dtype)
    h0, c0 = torch.randn(2, 3, generator=g).to(dtype), torch.randn(2, 3, generator=g).to(dtype)
    W = _weights(g, 3, 3, dtype)
    got = ref.lstm_forward(x, h0, c0, *W)
    exp = _oracle_forward(*[a.double() for a in (x, h0, c0, *W)])
    assert_tensors_close(got, exp, dtype=dtype, finite=True, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("T", [1, 2, 6])
@pytest.mark.parametrize("N,I,H", SIZES)
@pytest.mark.parametrize("zero_state", [False, True])
def test_backward_matches_autograd_float64(T, N, I, H, zero_state, assert_tensors_close):
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
    assert_tensors_close(got, exp, rtol=1e-9, atol=1e-11)


def test_at_most_ten_cases_per_function():
    assert all(len(f.cases) <= 10 for f in ASSIGNMENT.functions), [(f.name, len(f.cases)) for f in ASSIGNMENT.functions]
