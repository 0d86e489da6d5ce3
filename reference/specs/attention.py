"""Grading spec of the ``attention`` assignment (see ASSIGNMENTS.md, section 6)."""

from __future__ import annotations

import math

import torch

from grader.spec import Assignment, Case, Function, Mistake, Tolerance, call, rand, randint, randn

# --------------------------------------------------------------------------- #
# Inputs
# --------------------------------------------------------------------------- #


def _causal(Lq, Lk):
    """(Lq, Lk) bool, True = may attend; query i sees keys j <= i + (Lk - Lq)."""
    return torch.ones(Lq, Lk, dtype=torch.bool).tril(diagonal=Lk - Lq)


def _random_mask(g, shape, p_keep=0.6):
    """Random bool mask of ``shape`` (..., Lq, Lk) with one forced True per row."""
    keep = rand(g, shape, torch.float64) < p_keep
    col = randint(g, 0, shape[-1], shape[:-1])  # (..., Lq)
    forced = torch.arange(shape[-1]) == col[..., None]  # (..., Lq, Lk), one True per row
    return keep | forced


def _sdpa_case(q_shape, k_shape, dv, *, scale=1.0, mask=None):
    """mask: None, "causal" (2-D), or a shape for a random mask."""

    def make(g, dt):
        q = randn(g, q_shape, dt, scale=scale)
        k = randn(g, k_shape, dt, scale=scale)
        v = randn(g, k_shape[:-1] + (dv,), dt)
        if mask is None:
            return call(q, k, v)
        m = _causal(q_shape[-2], k_shape[-2]) if mask == "causal" else _random_mask(g, mask)
        return call(q, k, v, mask=m)

    return make


def _mha_case(N, Lq, Lk, E, h, *, scale=1.0, mask=None, self_attention=False):
    """mask: None, "causal" (2-D (Lq, Lk)) or "3d" (random (N, Lq, Lk))."""

    def make(g, dt):
        query = randn(g, (N, Lq, E), dt, scale=scale)
        if self_attention:
            key = value = query
        else:
            key = randn(g, (N, Lk, E), dt, scale=scale)
            value = randn(g, (N, Lk, E), dt, scale=scale)
        w_in = randn(g, (3 * E, E), dt, scale=0.5)
        b_in = randn(g, (3 * E,), dt, scale=0.2)
        w_out = randn(g, (E, E), dt, scale=0.4)
        b_out = randn(g, (E,), dt, scale=0.2)
        kw = {}
        if mask == "causal":
            kw["mask"] = _causal(Lq, Lk)
        elif mask == "3d":
            kw["mask"] = _random_mask(g, (N, Lq, Lk))
        return call(query, key, value, h, w_in, b_in, w_out, b_out, **kw)

    return make


# Scores of 1e6..1e8: a float32 rounding of the scores can move a softmax
# weight whose row is not quite one-hot by more than the default atol.
_LARGE_TOL = {"float32": Tolerance(rtol=1e-3, atol=1e-4)}
# MHA outputs ~ 1e4: float32 cancellation in the projections leaves ~ 1e4 * 1e-7
# absolute error on outputs that happen to be near 0.
_LARGE_MHA_TOL = {"float32": Tolerance(rtol=1e-3, atol=1e-2)}

# --------------------------------------------------------------------------- #
# Known mistakes (self-contained: the spec must not import reference/)
# --------------------------------------------------------------------------- #


def _attend(q, k, v, mask=None, *, scale="d", invert_mask=False, softmax_dim=-1, no_max_shift=False):
    s = q @ k.transpose(-2, -1)
    if scale == "d":
        s = s / math.sqrt(q.shape[-1])
    elif scale == "dv":
        s = s / math.sqrt(v.shape[-1])
    if mask is not None:
        allowed = ~mask if invert_mask else mask
        s = s.masked_fill(~allowed, float("-inf"))
    if no_max_shift:
        e = s.exp()
        w = e / e.sum(dim=-1, keepdim=True)
    else:
        w = torch.softmax(s, dim=softmax_dim)
    return w @ v, w


def _sdpa_missing_scale(q, k, v, mask=None):
    return _attend(q, k, v, mask, scale=None)


def _sdpa_scale_by_dv(q, k, v, mask=None):
    return _attend(q, k, v, mask, scale="dv")


def _sdpa_mask_inverted(q, k, v, mask=None):
    return _attend(q, k, v, mask, invert_mask=True)


def _sdpa_softmax_wrong_dim(q, k, v, mask=None):
    return _attend(q, k, v, mask, softmax_dim=-2)


def _sdpa_no_max_shift(q, k, v, mask=None):
    return _attend(q, k, v, mask, no_max_shift=True)


def _mha(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask=None, *, split="ok", combine="mean",
         transpose_weights=True, **attend_kw):
    N, Lq, E = query.shape
    Lk = key.shape[1]
    hd = E // num_heads
    Wq, Wk, Wv = w_in.chunk(3, dim=0)
    bq, bk, bv = b_in.chunk(3, dim=0)
    if transpose_weights:
        Wq, Wk, Wv, Wo = Wq.T, Wk.T, Wv.T, w_out.T
    else:
        Wo = w_out
    q, k, v = query @ Wq + bq, key @ Wk + bk, value @ Wv + bv

    def heads(t, L):
        if split == "ok":
            return t.reshape(N, L, num_heads, hd).permute(0, 2, 1, 3)
        return t.reshape(N, num_heads, L, hd)  # no transpose: mixes positions and features

    if mask is not None and mask.dim() == 3:
        mask = mask[:, None]
    o, w = _attend(heads(q, Lq), heads(k, Lk), heads(v, Lk), mask, **attend_kw)
    if split == "ok":
        o = o.permute(0, 2, 1, 3).reshape(N, Lq, E)
    else:
        o = o.reshape(N, Lq, E)
    w = w.mean(dim=1) if combine == "mean" else w.sum(dim=1)
    return o @ Wo + b_out, w


def _mha_heads_split_wrong(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask=None):
    return _mha(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask, split="no_transpose")


def _mha_weights_summed(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask=None):
    return _mha(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask, combine="sum")


def _mha_missing_scale(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask=None):
    return _mha(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask, scale=None)


def _mha_mask_inverted(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask=None):
    return _mha(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask, invert_mask=True)


def _mha_softmax_wrong_dim(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask=None):
    return _mha(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask, softmax_dim=-2)


def _mha_no_max_shift(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask=None):
    return _mha(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask, no_max_shift=True)


def _mha_proj_not_transposed(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask=None):
    return _mha(query, key, value, num_heads, w_in, b_in, w_out, b_out, mask, transpose_weights=False)


_HINT_MASK = (
    "Your mask is applied the wrong way round. Here True means 'may attend' (the opposite of the bool "
    "attn_mask of torch.nn.MultiheadAttention): set the scores to -inf where the mask is False, "
    "e.g. scores.masked_fill(~mask, float('-inf'))."
)
_HINT_SOFTMAX_DIM = (
    "Your softmax normalizes over the queries (dim=-2). Each query's weights must sum to 1 over the "
    "keys: softmax over the last dim of the (..., Lq, Lk) scores."
)
_HINT_NO_MAX_SHIFT = (
    "Your softmax overflows when scores are large (exp(1000) = inf, and inf/inf = NaN). Subtract the "
    "row max before exp() (softmax is shift-invariant), or use torch.softmax, which is allowed here."
)

# --------------------------------------------------------------------------- #
# The assignment
# --------------------------------------------------------------------------- #

_NN_MODULES = tuple(
    sorted(
        f"torch.nn.{name}"
        for name, obj in vars(torch.nn).items()
        if isinstance(obj, type) and issubclass(obj, torch.nn.Module)
    )
)

ASSIGNMENT = Assignment(
    id="attention",
    position=6,
    title="Scaled dot-product and multi-head attention",
    banned=(
        "torch.nn.functional.scaled_dot_product_attention",
        "torch.nn.functional.multi_head_attention_forward",
        "torch.nn.functional._in_projection_packed",
        "torch.nn.functional._in_projection",
        "torch._C._nn.scaled_dot_product_attention",
        "torch._native_multi_head_attention",
        "torch._scaled_dot_product_attention_math",
        "torch._scaled_dot_product_flash_attention",
        "torch._scaled_dot_product_flash_attention_for_cpu",
        "torch._scaled_dot_product_efficient_attention",
        "torch._scaled_dot_product_cudnn_attention",
        "torch._triton_multi_head_attention",
        "torch._triton_scaled_dot_attention",
        "torch.ao",  # quantizable MultiheadAttention
        "jax.nn.dot_product_attention",
        "flax",
        "tensorflow.keras",
        "keras.layers",
        "torch.nn.modules",  # every torch.nn module (nn.MultiheadAttention, nn.Linear, ...) ...
        *_NN_MODULES,  # ... also under its torch.nn.<Name> alias
        "torch.autograd",
        "torch.func",
        "torch.Tensor.backward",
        "jax.grad",
        "jax.vjp",
        "jax.jvp",
        "jax.jacrev",
        "jax.jacfwd",
        "jax.value_and_grad",
        "autograd.grad",
        "tensorflow.GradientTape",
    ),
    banned_ops=(
        "aten::scaled_dot_product_attention",
        "aten::_scaled_dot_product_attention_math",
        "aten::_safe_softmax",  # what the math fallback of F.scaled_dot_product_attention dispatches
        "aten::_scaled_dot_product_flash_attention",
        "aten::_scaled_dot_product_flash_attention_for_cpu",
        "aten::_scaled_dot_product_efficient_attention",
        "aten::_scaled_dot_product_cudnn_attention",
        "aten::_scaled_dot_product_fused_attention_overrideable",
        "aten::_scaled_dot_product_attention_math_for_mps",
        "aten::_efficient_attention_forward",
        "aten::_flash_attention_forward",
        "aten::_native_multi_head_attention",
    ),
    functions=(
        Function(
            name="scaled_dot_product_attention",
            cases=(
                Case("basic", _sdpa_case((2, 4, 8), (2, 6, 8), 8), description="q (2, 4, 8), k/v (2, 6, 8)"),
                Case("d_ne_dv", _sdpa_case((3, 5, 4), (3, 7, 4), 9), description="d = 4, dv = 9, Lq != Lk"),
                Case(
                    "batched_4d",
                    _sdpa_case((2, 3, 4, 6), (2, 3, 5, 6), 3),
                    description="leading dims (2, 3): q (2, 3, 4, 6), v (2, 3, 5, 3)",
                ),
                Case(
                    "causal_mask_2d",
                    _sdpa_case((2, 5, 8), (2, 7, 8), 4, mask="causal"),
                    description="2-D causal mask (5, 7) broadcast over the batch",
                ),
                Case(
                    "random_mask_broadcast",
                    _sdpa_case((2, 3, 4, 5), (2, 3, 6, 5), 7, mask=(2, 1, 4, 6)),
                    points=1.5,
                    description="random mask (2, 1, 4, 6) broadcast over dim 1",
                ),
                Case(
                    "large_scores_1e3",
                    _sdpa_case((2, 4, 8), (2, 5, 8), 3, scale=1e3),
                    tolerance=_LARGE_TOL,
                    description="q, k ~ 1e3: scores ~ 1e6 (softmax must not overflow)",
                ),
                Case(
                    "unbatched_masked",
                    _sdpa_case((3, 4), (6, 4), 5, mask=(3, 6)),
                    hidden=True,
                    description="no leading dims: q (3, 4), k (6, 4), v (6, 5), random mask",
                ),
                Case(
                    "single_query_N1",
                    _sdpa_case((1, 1, 6), (1, 5, 6), 2, mask=(1, 1, 5)),
                    hidden=True,
                    description="N = 1, Lq = 1",
                ),
                Case(
                    "large_1e4_masked",
                    _sdpa_case((2, 2, 5, 4), (2, 2, 6, 4), 4, scale=1e4, mask=(5, 6)),
                    hidden=True,
                    tolerance=_LARGE_TOL,
                    description="q, k ~ 1e4 with a mask",
                ),
            ),
            mistakes=(
                Mistake(
                    "attn_missing_scale",
                    "Your scores are not scaled. Divide q @ k^T by sqrt(d), d = q.shape[-1], before the softmax; "
                    "without it large d makes the softmax nearly one-hot.",
                    _sdpa_missing_scale,
                    "missing 1/sqrt(d)",
                ),
                Mistake(
                    "attn_scale_by_dv",
                    "You scale the scores by sqrt(dv) (the size of v's last dim). The scale is sqrt(d), the size "
                    "of the query/key dim that the dot product sums over: q.shape[-1].",
                    _sdpa_scale_by_dv,
                    "scaled by sqrt(dv)",
                ),
                Mistake("attn_mask_inverted", _HINT_MASK, _sdpa_mask_inverted, "mask inverted"),
                Mistake("attn_softmax_wrong_dim", _HINT_SOFTMAX_DIM, _sdpa_softmax_wrong_dim, "softmax over queries"),
                Mistake("attn_softmax_no_max_shift", _HINT_NO_MAX_SHIFT, _sdpa_no_max_shift, "softmax overflows"),
            ),
        ),
        Function(
            name="multi_head_attention",
            cases=(
                Case("heads_2", _mha_case(2, 4, 6, 8, 2), description="N=2, Lq=4, Lk=6, E=8, 2 heads"),
                Case("heads_1", _mha_case(2, 5, 5, 6, 1), description="one head, E=6"),
                Case(
                    "heads_4_self_attention",
                    _mha_case(3, 5, 5, 8, 4, self_attention=True),
                    description="query = key = value, 4 heads of size 2",
                ),
                Case(
                    "heads_4_lq_ne_lk",
                    _mha_case(2, 3, 7, 16, 4),
                    description="N=2, Lq=3, Lk=7, E=16, 4 heads",
                ),
                Case(
                    "causal_mask_2d",
                    _mha_case(2, 5, 5, 8, 2, mask="causal"),
                    points=1.5,
                    description="2-D causal mask (Lq, Lk)",
                ),
                Case(
                    "mask_3d",
                    _mha_case(2, 4, 6, 12, 3, mask="3d"),
                    points=1.5,
                    description="3-D random mask (N, Lq, Lk), 3 heads",
                ),
                Case(
                    "batch_1_mask_3d",
                    _mha_case(1, 3, 7, 8, 4, mask="3d"),
                    hidden=True,
                    description="N=1, 3-D mask, 4 heads",
                ),
                Case(
                    "lq_gt_lk_causal_free",
                    _mha_case(3, 6, 4, 6, 2, mask="3d"),
                    hidden=True,
                    description="Lq > Lk, 3-D mask, 2 heads",
                ),
                Case(
                    "large_1e4",
                    _mha_case(2, 3, 4, 8, 2, scale=1e4),
                    hidden=True,
                    tolerance=_LARGE_MHA_TOL,
                    description="inputs ~ 1e4 (scores ~ 1e8)",
                ),
            ),
            mistakes=(
                Mistake(
                    "mha_heads_split_wrong",
                    "Your heads are split with a plain reshape (N, L, E) -> (N, h, L, hd), which mixes positions "
                    "and features. Reshape to (N, L, h, hd) and then transpose(1, 2) to get (N, h, L, hd); "
                    "undo it the same way (transpose back, then reshape to (N, L, E)) before out_proj.",
                    _mha_heads_split_wrong,
                    "heads split without transpose",
                ),
                Mistake(
                    "mha_weights_not_averaged",
                    "Your returned attention weights are summed over the heads. torch.nn.MultiheadAttention "
                    "returns their average: weights.mean(dim=1) of the (N, h, Lq, Lk) per-head weights, so each "
                    "row still sums to 1.",
                    _mha_weights_summed,
                    "head weights summed",
                ),
                Mistake(
                    "mha_missing_scale",
                    "Your per-head scores are not scaled. Divide q @ k^T by sqrt(head_dim), head_dim = "
                    "E // num_heads (not sqrt(E)).",
                    _mha_missing_scale,
                    "missing 1/sqrt(head_dim)",
                ),
                Mistake(
                    "mha_proj_not_transposed",
                    "Your projections compute x @ W instead of x @ W.T. PyTorch stores weights as "
                    "(out_features, in_features): q = query @ W_q.T + b_q, and out = o @ out_proj_weight.T + b.",
                    _mha_proj_not_transposed,
                    "projection weights not transposed",
                ),
                Mistake("attn_mask_inverted", _HINT_MASK, _mha_mask_inverted, "mask inverted"),
                Mistake("attn_softmax_wrong_dim", _HINT_SOFTMAX_DIM, _mha_softmax_wrong_dim, "softmax over queries"),
                Mistake("attn_softmax_no_max_shift", _HINT_NO_MAX_SHIFT, _mha_no_max_shift, "softmax overflows"),
            ),
        ),
    ),
)
