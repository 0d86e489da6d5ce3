"""Reference ``attention`` vs torch.nn.functional.scaled_dot_product_attention,
torch.nn.MultiheadAttention and the textbook positional encoding; and, since
the spec gives three of its functions no ``oracle=``, the reference against
these oracles on every spec case."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch

from grader.catalog.lint import check_oracle
from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
ref = CATALOG.references["attention"]
ASSIGNMENT = CATALOG.get("attention")


def _oracle_sdpa(q, k, v, mask=None):
    """out from F.scaled_dot_product_attention; weights by the textbook formula."""
    torch_mask = None if mask is None else mask  # F.sdpa's bool attn_mask: True = take part
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=torch_mask)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return out, torch.softmax(scores, dim=-1)


def _oracle_mha(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask=None):
    E = query.shape[-1]
    mha = torch.nn.MultiheadAttention(E, num_heads, batch_first=True).to(query.dtype)
    with torch.no_grad():
        mha.in_proj_weight.copy_(w_in)
        mha.in_proj_bias.copy_(b_in)
        mha.out_proj.weight.copy_(w_out)
        mha.out_proj.bias.copy_(b_out)
    attn_mask = None
    if mask is not None:
        attn_mask = ~mask  # torch: True = NOT allowed
        if attn_mask.dim() == 3:
            attn_mask = attn_mask.repeat_interleave(num_heads, dim=0)  # (N * h, Lq, Lk), n-major
    mha.eval()
    with torch.no_grad():
        return mha(query, key, value, attn_mask=attn_mask, need_weights=True, average_attn_weights=True)


def _mask(g, shape, p=0.6):
    keep = torch.rand(shape, generator=g) < p
    col = torch.randint(0, shape[-1], shape[:-1], generator=g)
    return keep | (torch.arange(shape[-1]) == col[..., None])


SDPA_SHAPES = [  # (q, k, v) shapes
    ((4, 8), (6, 8), (6, 8)),
    ((2, 4, 8), (2, 6, 8), (2, 6, 8)),
    ((3, 5, 4), (3, 7, 4), (3, 7, 9)),
    ((2, 3, 4, 6), (2, 3, 5, 6), (2, 3, 5, 3)),
    ((2, 3, 4, 6), (1, 3, 5, 6), (1, 3, 5, 2)),  # broadcast leading dims
    ((1, 1, 6), (1, 5, 6), (1, 5, 2)),
]


@pytest.mark.parametrize("shapes", SDPA_SHAPES, ids=str)
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sdpa_matches_torch_float64(shapes, masked, seed, assert_tensors_close):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(s, generator=g, dtype=torch.float64) * (1 + seed) for s in shapes)
    mask = _mask(g, (q.shape[-2], k.shape[-2])) if masked else None
    assert_tensors_close(ref.scaled_dot_product_attention(q, k, v, mask), _oracle_sdpa(q, k, v, mask),
                  rtol=1e-10, atol=1e-12)


def test_sdpa_batched_mask_and_causal(assert_tensors_close):
    g = torch.Generator().manual_seed(4)
    q = torch.randn(2, 3, 5, 4, generator=g, dtype=torch.float64)
    k = torch.randn(2, 3, 7, 4, generator=g, dtype=torch.float64)
    v = torch.randn(2, 3, 7, 6, generator=g, dtype=torch.float64)
    for mask in (_mask(g, (2, 1, 5, 7)), _mask(g, (2, 3, 5, 7)), torch.ones(5, 7, dtype=torch.bool).tril(2)):
        assert_tensors_close(ref.scaled_dot_product_attention(q, k, v, mask), _oracle_sdpa(q, k, v, mask),
                      rtol=1e-10, atol=1e-12)


MHA_SIZES = [  # (N, Lq, Lk, E, h)
    (2, 4, 6, 8, 1),
    (2, 4, 6, 8, 2),
    (3, 5, 5, 8, 4),
    (1, 3, 7, 12, 3),
    (2, 6, 4, 16, 4),
]


@pytest.mark.parametrize("N,Lq,Lk,E,h", MHA_SIZES)
@pytest.mark.parametrize("mask_kind", [None, "2d", "3d", "causal"])
def test_mha_matches_torch_float64(N, Lq, Lk, E, h, mask_kind, assert_tensors_close):
    g = torch.Generator().manual_seed(N * 1000 + Lq * 100 + Lk * 10 + h)
    f64 = dict(generator=g, dtype=torch.float64)
    query, key, value = torch.randn(N, Lq, E, **f64), torch.randn(N, Lk, E, **f64), torch.randn(N, Lk, E, **f64)
    w_in, b_in = torch.randn(3 * E, E, **f64) * 0.5, torch.randn(3 * E, **f64) * 0.2
    w_out, b_out = torch.randn(E, E, **f64) * 0.4, torch.randn(E, **f64) * 0.2
    mask = {None: None, "2d": _mask(g, (Lq, Lk)), "3d": _mask(g, (N, Lq, Lk)),
            "causal": torch.ones(Lq, Lk, dtype=torch.bool).tril(max(Lk - Lq, 0))}[mask_kind]
    args = (query, key, value, h, w_in, b_in, w_out, b_out, mask)
    assert_tensors_close(ref.multi_head_attention(*args), _oracle_mha(*args), rtol=1e-9, atol=1e-11)


def test_mha_self_attention_float32(assert_tensors_close):
    g = torch.Generator().manual_seed(8)
    x = torch.randn(3, 5, 8, generator=g)
    args = (x, x, x, 2, torch.randn(24, 8, generator=g) * 0.5, torch.randn(24, generator=g) * 0.2,
            torch.randn(8, 8, generator=g) * 0.4, torch.randn(8, generator=g) * 0.2)
    assert_tensors_close(ref.multi_head_attention(*args), _oracle_mha(*args), rtol=1e-5, atol=1e-6)


def test_sdpa_float32(assert_tensors_close):
    g = torch.Generator().manual_seed(2)
    q, k, v = torch.randn(2, 4, 8, generator=g), torch.randn(2, 6, 8, generator=g), torch.randn(2, 6, 5, generator=g)
    mask = _mask(g, (2, 4, 6))
    assert_tensors_close(ref.scaled_dot_product_attention(q, k, v, mask), _oracle_sdpa(q, k, v, mask),
                  rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_large_magnitude_1e4(dtype):
    g = torch.Generator().manual_seed(6)
    q = torch.randn(2, 4, 8, generator=g, dtype=torch.float64) * 1e4
    k = torch.randn(2, 5, 8, generator=g, dtype=torch.float64) * 1e4
    v = torch.randn(2, 5, 3, generator=g, dtype=torch.float64)
    mask = _mask(g, (4, 5))
    exp = _oracle_sdpa(q, k, v, mask)
    got = ref.scaled_dot_product_attention(q.to(dtype), k.to(dtype), v.to(dtype), mask)
    for a, b in zip(got, exp):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a.double(), b, rtol=1e-4, atol=1e-5)
    # MHA with inputs ~ 1e4
    E = 8
    x = torch.randn(2, 3, E, generator=g, dtype=torch.float64) * 1e4
    args = (x, x, x, 2, torch.randn(3 * E, E, generator=g, dtype=torch.float64) * 0.5,
            torch.randn(3 * E, generator=g, dtype=torch.float64), torch.randn(E, E, generator=g, dtype=torch.float64),
            torch.randn(E, generator=g, dtype=torch.float64))
    exp = _oracle_mha(*args)
    got = ref.multi_head_attention(*[a.to(dtype) if isinstance(a, torch.Tensor) else a for a in args])
    for a, b in zip(got, exp):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a.double(), b, rtol=1e-3, atol=1e-2)


@pytest.mark.parametrize("length,d_model", [(1, 2), (1, 8), (7, 12), (50, 6), (3, 128), (300, 32)])
def test_positional_encoding_matches_formula(length, d_model):
    for dtype in (torch.float32, torch.float64):
        got = ref.sinusoidal_positional_encoding(length, d_model, dtype)
        assert got.dtype == dtype and got.shape == (length, d_model)
        torch.testing.assert_close(got, _oracle_pe(length, d_model, dtype), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError):
        ref.sinusoidal_positional_encoding(4, 5)


@pytest.mark.parametrize("Lq,Lk", [(1, 1), (4, None), (3, 7), (6, 4), (1, 9), (9, 1)])
def test_causal_mask_matches_sdpa_is_causal(Lq, Lk):
    mask = ref.causal_mask(Lq, Lk)
    assert mask.dtype == torch.bool and torch.equal(mask, _oracle_causal_mask(Lq, Lk))
    # the mask gives the same attention as F.scaled_dot_product_attention(is_causal=True)
    g = torch.Generator().manual_seed(Lq * 10 + (Lk or Lq))
    S = Lq if Lk is None else Lk
    q, k, v = (torch.randn(2, L, 4, generator=g, dtype=torch.float64) for L in (Lq, S, S))
    out, _ = ref.scaled_dot_product_attention(q, k, v, mask)
    exp = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(out, exp, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- #
# The spec cases against these oracles (the spec names none for three functions)
# --------------------------------------------------------------------------- #

def _oracle_pe(length, d_model, dtype=torch.float32):
    """The textbook loop of Vaswani et al. (2017), section 3.5, in Python floats."""
    rows = [[(math.sin if j % 2 == 0 else math.cos)(p / 10000 ** ((j - j % 2) / d_model)) for j in range(d_model)]
            for p in range(length)]
    return torch.tensor(rows, dtype=torch.float64).to(dtype)


def _oracle_causal_mask(Lq, Lk=None):
    """The is_causal mask of F.scaled_dot_product_attention: ones(L, S).tril(0)."""
    return torch.ones(Lq, Lq if Lk is None else Lk, dtype=torch.bool).tril(diagonal=0)


_ORACLES = {
    "scaled_dot_product_attention": _oracle_sdpa,
    "multi_head_attention": _oracle_mha,
    "sinusoidal_positional_encoding": _oracle_pe,
    "causal_mask": _oracle_causal_mask,
}


@pytest.mark.parametrize("function", ASSIGNMENT.functions, ids=lambda f: f.name)
def test_spec_cases_match_oracles(function):
    """What ``lint-spec --oracles`` would check if the spec named these oracles: every case and three more draws."""
    with_oracle = dataclasses.replace(function, oracle=_ORACLES[function.name])
    problems = check_oracle(ASSIGNMENT, with_oracle, ref, extra_seeds=3)
    assert not problems, "\n".join(map(str, problems))


def test_at_most_ten_cases_per_function():
    assert all(len(f.cases) <= 10 for f in ASSIGNMENT.functions), [(f.name, len(f.cases)) for f in ASSIGNMENT.functions]
