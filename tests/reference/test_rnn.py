"""Reference ``rnn`` vs torch.nn.RNN/GRU (copied weights) and autograd (the spec's oracles) over many
sizes, weight scales and inputs ~1e4."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from grader.catalog.lint import close
from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
ref = CATALOG.references["rnn"]
ASSIGNMENT = CATALOG.get("rnn")
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
    assert close(ref.rnn_cell(x[0], h0, *W), ORACLE["rnn_cell"](x[0], h0, *W), rtol=1e-10, atol=1e-12)
    assert close(ref.rnn_forward(x, h0, *W), ORACLE["rnn_forward"](x, h0, *W), rtol=1e-10, atol=1e-12)
    got = ref.rnn_backward(dout, x, h0, *W)
    exp = ORACLE["rnn_backward"](dout, x, h0, *W)
    assert set(got) == {"x", "h0", "W_ih", "W_hh", "b_ih", "b_hh"}
    assert close(got, exp, rtol=1e-9, atol=1e-11)
    x, h0, W, _ = _inputs(T * 100 + N * 10 + H + 1, T, N, I, H, 3, w_scale=w_scale, zero_state=zero_state)
    assert close(ref.gru_cell(x[0], h0, *W), ORACLE["gru_cell"](x[0], h0, *W), rtol=1e-10, atol=1e-12)
    assert close(ref.gru_forward(x, h0, *W), ORACLE["gru_forward"](x, h0, *W), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_and_large_inputs(dtype, assert_tensors_close):
    for gates, names in ((1, ("rnn_forward", "rnn_backward")), (3, ("gru_forward",))):
        x, h0, W, dout = _inputs(7, 4, 2, 3, 4, gates, dtype=dtype)
        x = x * 1e4
        for name in names:
            args = (dout, x, h0, *W) if name.endswith("backward") else (x, h0, *W)
            got = getattr(ref, name)(*args)
            exp = ORACLE[name](*[a.double() for a in args])
            assert_tensors_close(got, exp, dtype=dtype, finite=True, rtol=1e-3, atol=1e-3)
