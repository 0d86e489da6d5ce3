"""Reference ``layernorm`` vs torch.nn.functional.layer_norm and autograd (the spec's oracles) over many
shapes and eps, at magnitudes 1e4, and on constant rows."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from grader.catalog.lint import close
from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
ref = CATALOG.references["layernorm"]
ASSIGNMENT = CATALOG.get("layernorm")
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
    assert close(ORACLE["layernorm_forward"](x, gamma, beta, eps), ref.layernorm_forward(x, gamma, beta, eps), **TOL)
    assert close(ORACLE["layernorm_backward"](dout, x, gamma, eps), ref.layernorm_backward(dout, x, gamma, eps),
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
