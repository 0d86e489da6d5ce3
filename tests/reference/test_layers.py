"""Reference ``layers`` vs torch.nn.functional / torch.nn / autograd (the spec's oracles) over a grid of
convolution and pooling geometries, and dropout's statistics."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from grader.catalog.lint import close
from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
ref = CATALOG.references["layers"]
ASSIGNMENT = CATALOG.get("layers")
ORACLE = {f.name: f.oracle for f in ASSIGNMENT.functions}
TOL = dict(rtol=1e-9, atol=1e-11)

CONV = [  # (N, C, H, W, F, KH, KW, stride, padding)
    (1, 1, 1, 1, 1, 1, 1, 1, 0), (2, 3, 5, 5, 4, 3, 3, 1, 0), (2, 3, 7, 7, 4, 3, 3, 2, 1), (1, 2, 6, 9, 3, 2, 4, 2, 2),
    (3, 2, 4, 5, 2, 4, 5, 1, 0), (2, 3, 5, 6, 5, 1, 1, 2, 0), (2, 2, 8, 7, 3, 3, 2, 3, 2), (1, 1, 2, 3, 2, 3, 3, 1, 1),
    (2, 2, 9, 8, 3, 5, 5, 2, 3),
]


def _g(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("N,C,H,W,F,KH,KW,s,p", CONV)
def test_conv_matches_torch(N, C, H, W, F, KH, KW, s, p):
    g = _g(N * 1000 + H * 10 + KH + s + p)
    x = torch.randn(N, C, H, W, generator=g, dtype=torch.float64)
    Wt = torch.randn(F, C, KH, KW, generator=g, dtype=torch.float64)
    b = torch.randn(F, generator=g, dtype=torch.float64)
    out = ref.conv2d_forward(x, Wt, b, s, p)
    assert close(ORACLE["conv2d_forward"](x, Wt, b, s, p), out, **TOL)
    assert out.shape[2:] == ref.conv2d_output_shape(H, W, KH, s, p) if KH == KW else True
    dout = torch.randn(out.shape, generator=g, dtype=torch.float64)
    assert close(ORACLE["conv2d_backward"](dout, x, Wt, s, p), ref.conv2d_backward(dout, x, Wt, s, p), **TOL)


@pytest.mark.parametrize("shape,k,s", [((2, 3, 4, 4), 2, 2), ((2, 2, 5, 6), 3, 1), ((1, 3, 7, 5), 3, 2),
                                       ((2, 1, 5, 7), 2, 2), ((3, 2, 4, 4), 4, 1), ((1, 1, 6, 6), 2, 1)])
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_matches_torch(shape, k, s, ties):
    g = _g(sum(shape) + k + s)
    x = (torch.randint(0, 3, shape, generator=g).double() if ties
         else torch.randn(shape, generator=g, dtype=torch.float64))
    out = ref.max_pool2d_forward(x, k, s)
    assert close(ORACLE["max_pool2d_forward"](x, k, s), out, **TOL)
    dout = torch.randn(out.shape, generator=g, dtype=torch.float64)
    # torch's kernels also give a tied window's gradient to its first maximum (row-major)
    assert close(ORACLE["max_pool2d_backward"](dout, x, k, s), ref.max_pool2d_backward(dout, x, k, s), **TOL)


def test_shapes_and_params_match_torch():
    for h, w, k, s, p, d in [(28, 28, 5, 1, 0, 1), (7, 10, 3, 2, 0, 1), (224, 101, 7, 2, 3, 2), (5, 5, 5, 1, 0, 1),
                             (32, 17, 3, 3, 1, 2), (9, 4, 1, 4, 0, 3)]:
        got = ref.conv2d_output_shape(h, w, k, stride=s, padding=p, dilation=d)
        assert got == ORACLE["conv2d_output_shape"](h, w, k, s, p, d) and all(type(v) is int for v in got)
    for cin, cout, k, bias in [(3, 16, 3, True), (64, 128, 3, False), (1, 1, 1, True), (256, 64, 1, False)]:
        n = ref.conv2d_num_params(cin, cout, k, bias)
        assert type(n) is int and n == ORACLE["conv2d_num_params"](cin, cout, k, bias)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtypes_and_large_inputs(dtype):
    g = _g(3)
    x = (torch.randn(2, 3, 6, 6, generator=g, dtype=torch.float64) * 1e4)
    Wt = torch.randn(2, 3, 3, 3, generator=g, dtype=torch.float64)
    b = torch.randn(2, generator=g, dtype=torch.float64)
    exp = ORACLE["conv2d_forward"](x, Wt, b, 2, 1)
    got = ref.conv2d_forward(x.to(dtype), Wt.to(dtype), b.to(dtype), 2, 1)
    assert got.dtype == dtype and torch.isfinite(got).all()
    torch.testing.assert_close(got.double(), exp, rtol=1e-4, atol=1e-2)
    out, mask = ref.dropout_forward(x.to(dtype), 0.5, True)
    assert out.dtype == dtype and mask.dtype == torch.bool and out.shape == mask.shape == x.shape
    assert ref.max_pool2d_backward(torch.ones(2, 3, 3, 3, dtype=dtype), x.to(dtype), 2, 2).dtype == dtype


def test_dropout_properties_and_inference():
    x = torch.randn(200, 500, generator=_g(1), dtype=torch.float64)
    for p in (0.0, 0.2, 0.5, 0.9):
        torch.manual_seed(int(p * 10))
        out, mask = ref.dropout_forward(x, p, True)
        keep = mask.double().mean().item()
        assert abs(keep - (1 - p)) < 6 * ((p * (1 - p) + 1e-12) / x.numel()) ** 0.5 + 1e-12
        torch.testing.assert_close(out, torch.where(mask, x / (1 - p), torch.zeros_like(x)), rtol=0, atol=0)
        out2, mask2 = ref.dropout_forward(x, p, False)
        assert torch.equal(out2, x) and bool(mask2.all()) and out2.data_ptr() != x.data_ptr()
    _, m1 = ref.dropout_forward(x, 0.5, True)
    _, m2 = ref.dropout_forward(x, 0.5, True)
    assert not torch.equal(m1, m2)
    with pytest.raises(ValueError):
        ref.dropout_forward(x, 1.0, True)
