"""The cross_entropy reference against torch.nn.functional.cross_entropy and autograd."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
ref = CATALOG.references["cross_entropy"]


def _inputs(seed, n, c, scale=1.0, shift=0.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    z = (torch.randn((n, c), generator=g, dtype=torch.float64) * scale + shift).to(dtype)
    t = torch.randint(0, c, (n,), generator=g)
    return z, t


def _oracle(z, t):
    zr = z.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(zr, t)
    (grad,) = torch.autograd.grad(loss, zr)
    return loss.detach(), grad


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("n,c", [(1, 2), (1, 7), (4, 5), (16, 10), (3, 1000), (9, 3)])
@pytest.mark.parametrize("scale,shift",
                         [(1.0, 0.0), (5.0, 0.0), (1e4, 0.0), (1.0, 1e4), (1.0, -1e4), (1e3, -5e3)])
def test_matches_torch(seed, n, c, scale, shift):
    z, t = _inputs(seed, n, c, scale, shift)
    loss, grad = _oracle(z, t)
    got = ref.cross_entropy(z, t)
    assert got.shape == () and got.dtype == torch.float64
    torch.testing.assert_close(got, loss, rtol=1e-10, atol=1e-10)
    g = ref.cross_entropy_grad(z, t)
    assert g.shape == z.shape and g.dtype == torch.float64
    torch.testing.assert_close(g, grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("seed", range(4))
def test_targets_at_first_and_last_class(seed):
    z, _ = _inputs(seed, 6, 5, 3.0)
    t = torch.tensor([0, 4, 0, 4, 4, 0])
    loss, grad = _oracle(z, t)
    torch.testing.assert_close(ref.cross_entropy(z, t), loss)
    torch.testing.assert_close(ref.cross_entropy_grad(z, t), grad)


@pytest.mark.parametrize("shift", [1e4, -1e4, 0.0])
def test_float32_close_to_float64_oracle(shift):
    z, t = _inputs(11, 8, 6, 1.0, shift, dtype=torch.float32)
    loss, grad = _oracle(z.double(), t)
    got = ref.cross_entropy(z, t)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got.double(), loss, rtol=1e-5, atol=1e-5)
    gg = ref.cross_entropy_grad(z, t)
    assert gg.dtype == torch.float32
    torch.testing.assert_close(gg.double(), grad, rtol=1e-4, atol=1e-6)


def test_stability_at_1e4_is_finite_and_exact():
    z = torch.tensor([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4, 1e4]], dtype=torch.float64)
    t = torch.tensor([1, 2, 0])
    for dt in (torch.float32, torch.float64):
        loss = ref.cross_entropy(z.to(dt), t)
        assert torch.isfinite(loss)
        torch.testing.assert_close(loss.double(), F.cross_entropy(z, t))
        assert torch.isfinite(ref.cross_entropy_grad(z.to(dt), t)).all()
