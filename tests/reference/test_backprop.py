"""The backprop reference against torch.autograd (with torch.nn.functional as the forward pass)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
ref = CATALOG.references["backprop"]
ASSIGNMENT = CATALOG.get("backprop")


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _randn(g, shape, scale=1.0, dtype=torch.float64):
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n,d,m", [(1, 3, 2), (4, 3, 5), (3, 4, 4), (5, 5, 5), (7, 6, 1)])
def test_affine_backward_matches_autograd(seed, n, d, m):
    g = _gen(seed)
    x = _randn(g, (n, d)).requires_grad_(True)
    W = _randn(g, (d, m)).requires_grad_(True)
    b = _randn(g, (m,)).requires_grad_(True)
    up = _randn(g, (n, m))
    dx, dW, db = torch.autograd.grad(F.linear(x, W.T, b), (x, W, b), up)
    got = ref.affine_backward(up, x.detach(), W.detach())
    assert isinstance(got, tuple) and len(got) == 3
    for a, e in zip(got, (dx, dW, db)):
        assert a.shape == e.shape and a.dtype == e.dtype
        torch.testing.assert_close(a, e)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("shape", [(8,), (1, 6), (4, 5), (2, 3, 4)])
def test_relu_backward_matches_autograd_including_zeros(seed, shape):
    g = _gen(seed)
    x = _randn(g, shape)
    x = torch.where(torch.rand(shape, generator=g) < 0.3, torch.zeros_like(x), x)
    x.view(-1)[0] = 0.0
    x.view(-1)[-1] = -0.0
    xr = x.clone().requires_grad_(True)
    up = _randn(g, shape)
    (e,) = torch.autograd.grad(F.relu(xr), xr, up)
    got = ref.relu_backward(up, x)
    torch.testing.assert_close(got, e, rtol=0, atol=0)
    assert (got[x == 0] == 0).all()


def _mlp_inputs(seed, n, d, h, c, *, w2_scale=0.5, zero_pre=False, dtype=torch.float64):
    g = _gen(seed)
    x = _randn(g, (n, d), dtype=dtype)
    y = torch.randint(0, c, (n,), generator=g)
    W1 = _randn(g, (d, h), 0.7, dtype)
    b1 = _randn(g, (h,), 0.3, dtype)
    W2 = _randn(g, (h, c), w2_scale, dtype)
    b2 = _randn(g, (c,), 0.3, dtype)
    if zero_pre:
        x[0] = 0.0
        b1 = torch.zeros_like(b1)
        W1[:, 0] = 0.0
    return x, y, W1, b1, W2, b2


def _mlp_oracle(x, y, W1, b1, W2, b2):
    params = [p.detach().clone().requires_grad_(True) for p in (W1, b1, W2, b2)]
    w1, c1, w2, c2 = params
    loss = F.cross_entropy(F.relu(x @ w1 + c1) @ w2 + c2, y)
    grads = torch.autograd.grad(loss, params)
    return loss.detach(), dict(zip(("W1", "b1", "W2", "b2"), grads))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dims", [(1, 4, 6, 3), (4, 3, 5, 3), (6, 7, 3, 4), (16, 5, 8, 4)])
@pytest.mark.parametrize("variant", ["plain", "zero_pre", "large_scores"])
def test_mlp_matches_autograd(seed, dims, variant):
    args = _mlp_inputs(seed, *dims, w2_scale=1e3 if variant == "large_scores" else 0.5,
                       zero_pre=variant == "zero_pre")
    loss, grads = _mlp_oracle(*args)
    got_loss, got = ref.mlp_loss_and_grads(*args)
    assert got_loss.shape == () and got_loss.dtype == torch.float64
    torch.testing.assert_close(got_loss, loss)
    assert set(got) == {"W1", "b1", "W2", "b2"}
    for k in grads:
        assert got[k].shape == grads[k].shape
        torch.testing.assert_close(got[k], grads[k])


def test_mlp_float32():
    args = _mlp_inputs(3, 5, 4, 6, 3, dtype=torch.float32)
    loss, grads = _mlp_oracle(*[a.double() if a.is_floating_point() else a for a in args])
    got_loss, got = ref.mlp_loss_and_grads(*args)
    assert got_loss.dtype == torch.float32 and all(v.dtype == torch.float32 for v in got.values())
    torch.testing.assert_close(got_loss.double(), loss, rtol=1e-5, atol=1e-6)
    for k in grads:
        torch.testing.assert_close(got[k].double(), grads[k], rtol=1e-4, atol=1e-6)


def test_affine_backward_cases_include_square_weights():
    """A transposed dW has the right shape only when W is square: at least two cases must have one, so that
    affine_dw_transposed is a wrong value (and named), not a shape error."""
    square = 0
    for case in ASSIGNMENT.function("affine_backward").cases:
        _, _, W = case.make(torch.Generator().manual_seed(0), torch.float64).args
        square += W.shape[0] == W.shape[1]
    assert square >= 2
