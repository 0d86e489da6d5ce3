"""Reference ``batchnorm`` vs torch.nn.BatchNorm1d/2d and autograd, over many shapes, momenta and eps."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
ref = CATALOG.references["batchnorm"]
ASSIGNMENT = CATALOG.get("batchnorm")


def _oracle(x, gamma, beta, rm, rv, training, momentum=0.1, eps=1e-5):
    C = x.shape[1]
    cls = torch.nn.BatchNorm2d if x.dim() == 4 else torch.nn.BatchNorm1d
    bn = cls(C, eps=eps, momentum=momentum).to(x.dtype)
    with torch.no_grad():
        bn.weight.copy_(gamma)
        bn.bias.copy_(beta)
        bn.running_mean.copy_(rm)
        bn.running_var.copy_(rv)
    bn.train(training)
    with torch.no_grad():
        out = bn(x)
    return out, bn.running_mean.clone(), bn.running_var.clone()


def _inputs(seed, shape, dtype=torch.float64, scale=1.0, shift=0.0, rm_shift=0.0, rv_range=(0.5, 2.0)):
    g = torch.Generator().manual_seed(seed)
    C = shape[1]
    x = torch.randn(shape, generator=g, dtype=torch.float64) * scale + shift
    gamma = torch.randn(C, generator=g, dtype=torch.float64) * 0.5 + 1.0
    beta = torch.randn(C, generator=g, dtype=torch.float64) * 0.5
    rm = torch.randn(C, generator=g, dtype=torch.float64) * 0.5 + rm_shift
    rv = torch.rand(C, generator=g, dtype=torch.float64) * (rv_range[1] - rv_range[0]) + rv_range[0]
    return [t.to(dtype) for t in (x, gamma, beta, rm, rv)]


SHAPES = [(8, 4), (2, 5), (4, 3, 5), (1, 3, 6), (2, 2, 1), (3, 4, 2, 3), (1, 2, 3, 3), (5, 1, 2, 2)]
HYPER = [(0.1, 1e-5), (0.3, 0.5), (1.0, 1e-3), (0.0, 1e-5)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("momentum,eps", HYPER)
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_torch_float64(shape, training, momentum, eps, seed, assert_tensors_close):
    args = _inputs(seed, shape, rm_shift=5.0 * seed, rv_range=(8.0, 10.0) if seed else (0.05, 0.3))
    got = ref.batchnorm_forward(*args, training, momentum=momentum, eps=eps)
    exp = _oracle(*args, training, momentum=momentum, eps=eps)
    assert_tensors_close(got, exp, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(8, 4), (4, 3, 5), (3, 4, 2, 3)])
@pytest.mark.parametrize("training", [True, False])
def test_matches_torch_float32(shape, training, assert_tensors_close):
    args = _inputs(7, shape, dtype=torch.float32)
    got = ref.batchnorm_forward(*args, training, momentum=0.2, eps=1e-3)
    exp = _oracle(*args, training, momentum=0.2, eps=1e-3)
    assert_tensors_close(got, exp, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("training", [True, False])
def test_large_magnitude_1e4(dtype, training):
    args = _inputs(3, (4, 3, 2, 2), scale=1e4, shift=3e4, rm_shift=3e4, rv_range=(1e7, 1e8))
    exp = _oracle(*args, training)  # computed in float64
    got = ref.batchnorm_forward(*[a.to(dtype) for a in args], training)
    for a, b in zip(got, exp):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a.double(), b, rtol=1e-4 if dtype == torch.float32 else 1e-9, atol=1e-3)


def test_running_statistics_are_new_tensors():
    """The updated running mean and variance are returned as new tensors, in training and at inference."""
    for training in (True, False):
        args = _inputs(11, (3, 4, 5))
        out, rm, rv = ref.batchnorm_forward(*args, training, momentum=0.3, eps=0.5)
        assert rm.data_ptr() != args[3].data_ptr() and rv.data_ptr() != args[4].data_ptr()


def test_formula_by_hand_small_batch():
    # N = 2: biased variance = ((a - b) / 2)^2, unbiased = (a - b)^2 / 2
    x = torch.tensor([[1.0, -2.0], [3.0, 4.0]], dtype=torch.float64)
    ones, zeros = torch.ones(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    out, rm, rv = ref.batchnorm_forward(x, ones, zeros, zeros, ones, True, momentum=1.0, eps=0.0)
    torch.testing.assert_close(out, torch.tensor([[-1.0, -1.0], [1.0, 1.0]], dtype=torch.float64))
    torch.testing.assert_close(rm, torch.tensor([2.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(rv, torch.tensor([2.0, 18.0], dtype=torch.float64))


@pytest.mark.parametrize("shape", [(8, 4), (2, 5), (4, 3, 5), (1, 3, 6), (3, 4, 2, 3), (1, 2, 3, 3)])
@pytest.mark.parametrize("eps", [1e-5, 0.5])
def test_backward_matches_autograd(shape, eps, assert_tensors_close):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(shape, generator=g, dtype=torch.float64) * 2 + 1
    gamma = torch.randn(shape[1], generator=g, dtype=torch.float64) * 0.5 + 1
    dout = torch.randn(shape, generator=g, dtype=torch.float64)
    xl, gl = x.clone().requires_grad_(), gamma.clone().requires_grad_()
    bl = torch.zeros_like(gamma, requires_grad=True)
    out = torch.nn.functional.batch_norm(xl, None, None, gl, bl, training=True, eps=eps)
    exp = torch.autograd.grad(out, (xl, gl, bl), dout)
    got = ref.batchnorm_backward(dout, x, gamma, eps=eps)
    assert_tensors_close(got, exp, rtol=1e-9, atol=1e-11)


def test_at_most_ten_cases_per_function():
    assert all(len(f.cases) <= 10 for f in ASSIGNMENT.functions), [(f.name, len(f.cases)) for f in ASSIGNMENT.functions]
