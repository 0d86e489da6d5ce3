"""Reference ``losses`` vs torch.nn.MultiMarginLoss (times C), F.binary_cross_entropy_with_logits and
autograd (the spec's oracles) over many shapes, margins and magnitudes up to 1e4."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from grader.catalog.lint import close
from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
ref = CATALOG.references["losses"]
ASSIGNMENT = CATALOG.get("losses")
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
    assert close(ORACLE["svm_loss"](s, y, margin), ref.svm_loss(s, y, margin), **TOL)
    # integer scores make margins of exactly 0: inactive for torch's kernel too
    assert close(ORACLE["svm_loss_grad"](s, y, margin), ref.svm_loss_grad(s, y, margin), **TOL)


@pytest.mark.parametrize("shape", [(), (7,), (4, 5), (2, 3, 4)])
@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
@pytest.mark.parametrize("soft", [False, True])
def test_bce_matches_torch(shape, scale, soft):
    g = torch.Generator().manual_seed(len(shape) * 7 + int(soft))
    z = torch.randn(shape, generator=g, dtype=torch.float64) * scale
    t = torch.rand(shape, generator=g, dtype=torch.float64) if soft else torch.randint(0, 2, shape, generator=g).double()
    assert close(ORACLE["binary_cross_entropy_with_logits"](z, t), ref.binary_cross_entropy_with_logits(z, t), **TOL)
    assert close(ORACLE["binary_cross_entropy_with_logits_grad"](z, t),
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
