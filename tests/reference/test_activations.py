"""The activations reference against torch's own routines and autograd (the oracles)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
ref = CATALOG.references["activations"]

SEEDS = range(6)
SHAPES = [(7,), (1, 5), (4, 6), (2, 3, 4), (2, 1, 3, 5)]
SCALES = [1.0, 30.0, 1e4]


def _x(seed, shape, scale, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)


def _assert(got, expected, dtype=torch.float64, rtol=None, atol=None):
    assert got.dtype == expected.dtype == dtype
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=rtol, atol=atol, equal_nan=False)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", SCALES)
def test_sigmoid_and_grad_match_torch(seed, shape, scale):
    x = _x(seed, shape, scale)
    _assert(ref.sigmoid(x), torch.sigmoid(x))
    xr = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(torch.sigmoid(xr).sum(), xr)
    _assert(ref.sigmoid_grad(x), g, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", SCALES)
def test_softmax_matches_torch_every_dim(seed, shape, scale):
    x = _x(seed, shape, scale)
    for dim in range(-len(shape), len(shape)):
        _assert(ref.softmax(x, dim), F.softmax(x, dim=dim))
    _assert(ref.softmax(x), F.softmax(x, dim=-1))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(5,), (1, 4), (3, 4), (2, 3, 5)])
@pytest.mark.parametrize("scale", [1.0, 10.0, 1e4])
def test_softmax_jacobian_matches_autograd(seed, shape, scale):
    x = _x(seed, shape, scale)
    c = shape[-1]
    rows = x.reshape(-1, c)
    expected = torch.stack([torch.autograd.functional.jacobian(lambda r: F.softmax(r, -1), r) for r in rows])
    got = ref.softmax_jacobian(x)
    assert got.shape == (*shape, c)
    _assert(got.reshape(-1, c, c), expected)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(6,), (1, 5), (4, 6), (2, 3, 4)])
@pytest.mark.parametrize("scale", [1.0, 10.0, 1e4])
def test_softmax_backward_matches_autograd(seed, shape, scale):
    x = _x(seed, shape, scale).requires_grad_(True)
    s = F.softmax(x, -1)
    g = _x(seed + 100, shape, 3.0)
    (expected,) = torch.autograd.grad(s, x, g)
    _assert(ref.softmax_backward(g, s.detach()), expected, rtol=1e-9, atol=1e-12)
    # and against the explicit Jacobian product
    J = ref.softmax_jacobian(x.detach())
    _assert(ref.softmax_backward(g, s.detach()), (J.transpose(-1, -2) @ g.unsqueeze(-1)).squeeze(-1),
            rtol=1e-9, atol=1e-12)


def test_stability_at_1e4():
    x = torch.tensor([[-1e4, -1e3, -100.0, -0.0, 0.0, 100.0, 1e3, 1e4]], dtype=torch.float64)
    for dt in (torch.float32, torch.float64):
        xd = x.to(dt)
        s = ref.sigmoid(xd)
        assert torch.isfinite(s).all()
        assert s[0, 0] == 0 and s[0, -1] == 1 and s[0, 3] == 0.5 and s[0, 4] == 0.5
        assert torch.isfinite(ref.sigmoid_grad(xd)).all()
        assert ref.sigmoid_grad(xd)[0, 4] == 0.25
        for rows in (xd, -xd, xd - 1e4, torch.full_like(xd, -1e4)):
            sm = ref.softmax(rows)
            assert torch.isfinite(sm).all()
            torch.testing.assert_close(sm, F.softmax(rows, -1))
        assert torch.isfinite(ref.softmax_jacobian(xd)).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_float32_and_float64_close_to_torch(dtype):
    x = _x(7, (5, 9), 20.0, dtype)
    s = ref.softmax(x)
    assert ref.sigmoid(x).dtype == ref.sigmoid_grad(x).dtype == s.dtype == dtype
    assert ref.softmax_jacobian(x).dtype == ref.softmax_backward(x, s).dtype == dtype
    torch.testing.assert_close(ref.sigmoid(x), torch.sigmoid(x))
    torch.testing.assert_close(s, F.softmax(x, -1))
    torch.testing.assert_close(ref.softmax(x, 0), F.softmax(x, 0))


def test_zero_dim_sigmoid():
    x = torch.tensor(3.0, dtype=torch.float64)
    assert ref.sigmoid(x).shape == ()
    torch.testing.assert_close(ref.sigmoid(x), torch.sigmoid(x))
    torch.testing.assert_close(ref.sigmoid_grad(x), torch.sigmoid(x) * (1 - torch.sigmoid(x)))
