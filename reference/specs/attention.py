"""Grading spec of the ``attention`` assignment (see ASSIGNMENTS.md, section 6;
``sinusoidal_positional_encoding`` and ``causal_mask`` added in the catalogue)."""

from __future__ import annotations

import math

import torch

from grader.spec import Assignment, Case, Function, Mistake, Tolerance, call, rand, randint, randn, Axis, AUTODIFF

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
# Positional encoding and causal mask (added in the catalogue)
# --------------------------------------------------------------------------- #
#
# The case inputs are plain ints.  ``dtype`` is left at its default
# (float32): a torch.dtype cannot cross the sandbox's wire format, so the
# cases run once, labelled float32 (which selects the float32 tolerances).


def _pe_case(length, d_model):
    return lambda g, dt: call(length, d_model)


def _pe(length, d_model, dtype=torch.float32, *, sin_first=True, exponent="2i", halves=False, pos_from=0):
    pos = torch.arange(pos_from, pos_from + length, dtype=torch.float64)[:, None]
    cols = torch.arange(d_model, dtype=torch.float64)
    if exponent == "2i":
        expo = 2 * torch.div(cols, 2, rounding_mode="floor") / d_model  # 2i/d for columns 2i and 2i+1
    elif exponent == "i":
        expo = torch.div(cols, 2, rounding_mode="floor") / d_model  # i/d: the pair index, not 2i
    else:  # "j": every column uses its own index j
        expo = cols / d_model
    angle = pos / 10000.0 ** expo  # (L, d)
    if halves:
        half = angle[:, 0::2]
        pe = torch.cat([half.sin(), half.cos()], dim=1)
    else:
        even = (torch.arange(d_model) % 2 == 0)[None, :]
        s, c = angle.sin(), angle.cos()
        pe = torch.where(even, s, c) if sin_first else torch.where(even, c, s)
    return pe.to(dtype)


def _pe_sin_cos_swapped(length, d_model, dtype=torch.float32):
    return _pe(length, d_model, dtype, sin_first=False)


def _pe_exponent_i(length, d_model, dtype=torch.float32):
    return _pe(length, d_model, dtype, exponent="i")


def _pe_exponent_j(length, d_model, dtype=torch.float32):
    return _pe(length, d_model, dtype, exponent="j")


def _pe_halves(length, d_model, dtype=torch.float32):
    return _pe(length, d_model, dtype, halves=True)


def _pe_from_1(length, d_model, dtype=torch.float32):
    return _pe(length, d_model, dtype, pos_from=1)


def _mask_variant(kind):
    def variant(Lq, Lk=None):
        Lk = Lq if Lk is None else Lk
        i = torch.arange(Lq)[:, None]
        j = torch.arange(Lk)[None, :]
        return {"transposed": j >= i, "inverted": j > i, "strict": j < i, "bottom_right": j <= i + (Lk - Lq)}[kind]

    return variant


def _oracle_causal_mask(Lq, Lk=None):
    """The is_causal mask of torch.nn.functional.scaled_dot_product_attention (its math fallback builds it so)."""
    Lk = Lq if Lk is None else Lk
    return torch.ones(Lq, Lk, dtype=torch.bool).tril(diagonal=0)


# float32 angles p * w carry a relative rounding of a few ulps (~1e-7), i.e. an
# absolute error of ~p * 1e-7 in sin/cos: 5e-5 at p = 512, ~1e-3 at p = 1e4.
_PE_TOL = {"float32": Tolerance(rtol=1e-4, atol=1e-4)}
_PE_LONG_TOL = {"float32": Tolerance(rtol=1e-4, atol=5e-4)}
_PE_VERY_LONG_TOL = {"float32": Tolerance(rtol=1e-4, atol=3e-3)}
_ONE = ("float32",)
_INTS = ("float64",)

_PE_CASES = (
    Case("length_1", _pe_case(1, 8), dtypes=_ONE, description="length 1: the row [0, 1, 0, 1, ...]"),
    Case("small", _pe_case(6, 8), dtypes=_ONE, points=2.0, description="length 6, d_model 8"),
    Case("d_model_2", _pe_case(5, 2), dtypes=_ONE, description="d_model 2: one sine and one cosine column"),
    Case("odd_length", _pe_case(7, 12), dtypes=_ONE, description="odd length 7, d_model 12"),
    Case("wide", _pe_case(3, 128), dtypes=_ONE, description="length 3, d_model 128 (d_model > length)"),
    Case("length_512", _pe_case(512, 32), dtypes=_ONE, points=2.0, description="length 512, d_model 32"),
    # (hidden cases use a d_model < 16 that no visible case has: row 0 is [0, 1, 0, 1, ...] for every
    # d_model, so a wider hidden output would begin with the same bytes as a visible one)
    Case("length_100_d4", _pe_case(100, 4), dtypes=_ONE, hidden=True, description="length 100, d_model 4"),
    Case("length_2048", _pe_case(2048, 10), dtypes=_ONE, hidden=True, tolerance=_PE_LONG_TOL,
         description="length 2048, d_model 10 (float32 angles up to ~2e3)"),
    Case("length_10000", _pe_case(10000, 6), dtypes=_ONE, hidden=True, tolerance=_PE_VERY_LONG_TOL,
         description="length 10000, d_model 6 (float32 angles up to ~1e4)"),
)

_MASK_CASES = (
    Case("square", lambda g, dt: call(5, 5), dtypes=_INTS, points=2.0, description="Lq = Lk = 5"),
    Case("default_lk", lambda g, dt: call(4), dtypes=_INTS, description="Lk omitted: square 4 x 4"),
    Case("lq_lt_lk", lambda g, dt: call(3, 7), dtypes=_INTS, points=2.0, description="Lq = 3 < Lk = 7"),
    Case("lq_gt_lk", lambda g, dt: call(6, 4), dtypes=_INTS, description="Lq = 6 > Lk = 4"),
    Case("two_by_two", lambda g, dt: call(2, 2), dtypes=_INTS, description="2 x 2"),
    Case("two_queries", lambda g, dt: call(2, 9), dtypes=_INTS, hidden=True, description="Lq = 2, Lk = 9"),
    Case("lq64_lk80", lambda g, dt: call(64, 80), dtypes=_INTS, hidden=True, description="Lq = 64, Lk = 80"),
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
        "torch.tril",  # banned for causal_mask (the harness bans per assignment)
        "torch.triu",
        "torch.Tensor.tril",
        "torch.Tensor.triu",
        "torch.Tensor.tril_",
        "torch.Tensor.triu_",
        "torch.nn.modules",  # every torch.nn module (nn.MultiheadAttention, nn.Linear, ...) ...
        *_NN_MODULES,  # ... also under its torch.nn.<Name> alias
        *AUTODIFF,
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
        "aten::tril",
        "aten::triu",
        "aten::tril_",
        "aten::triu_",
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
        Function(
            name="sinusoidal_positional_encoding",
            axes=(Axis("position", axis=0), Axis("dimension", axis=1)),
            cases=_PE_CASES,
            tolerance=_PE_TOL,
            mistakes=(
                Mistake(
                    "pe_sin_cos_swapped",
                    "Your sines and cosines are swapped: even columns must hold sin and odd columns cos, "
                    "PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d)). "
                    "Position 0 is [0, 1, 0, 1, ...].",
                    _pe_sin_cos_swapped,
                    "sin and cos swapped",
                ),
                Mistake(
                    "pe_exponent_i_over_d",
                    "Your frequencies use 10000^(i/d) with i the pair index 0..d/2-1. The exponent is 2i/d, "
                    "i.e. the EVEN column index divided by d: torch.arange(0, d_model, 2) / d_model.",
                    _pe_exponent_i,
                    "10000^(i/d) instead of 10000^(2i/d)",
                ),
                Mistake(
                    "pe_odd_column_own_exponent",
                    "Your odd columns use their own index in the exponent, cos(p / 10000^((2i+1)/d)). Columns "
                    "2i and 2i+1 share one frequency: cos(p / 10000^(2i/d)).",
                    _pe_exponent_j,
                    "odd column j uses 10000^(j/d)",
                ),
                Mistake(
                    "pe_halves_concatenated",
                    "Your encoding puts all sines in the first half and all cosines in the second half. The "
                    "contract interleaves them: sin in the even columns 0, 2, 4, ..., cos in the odd columns "
                    "(pe[:, 0::2] = sin, pe[:, 1::2] = cos).",
                    _pe_halves,
                    "[sin | cos] halves instead of interleaved",
                ),
                Mistake(
                    "pe_positions_from_1",
                    "Your positions start at 1. They start at 0: row 0 is [0, 1, 0, 1, ...] "
                    "(torch.arange(length)).",
                    _pe_from_1,
                    "positions 1..length",
                ),
            ),
        ),
        Function(
            name="causal_mask",
            axes=(Axis("query row", axis=0),),
            cases=_MASK_CASES,
            oracle=_oracle_causal_mask,
            mistakes=(
                Mistake(
                    "causal_mask_transposed",
                    "Your mask is the upper triangle (j >= i): each query may attend the future. Query i may "
                    "attend keys j <= i: mask[i, j] = j <= i, e.g. "
                    "torch.arange(Lk)[None, :] <= torch.arange(Lq)[:, None].",
                    _mask_variant("transposed"),
                    "mask transposed (j >= i)",
                ),
                Mistake(
                    "causal_mask_inverted",
                    "Your mask is True where attention is blocked (j > i): that is the convention of "
                    "torch.nn.MultiheadAttention's bool attn_mask. Here True means 'may attend': mask[i, j] = j <= i.",
                    _mask_variant("inverted"),
                    "True = blocked (j > i)",
                ),
                Mistake(
                    "causal_mask_no_diagonal",
                    "Your mask leaves out the diagonal (j < i): a query may attend its own position. Use j <= i; "
                    "otherwise the first query has no key at all.",
                    _mask_variant("strict"),
                    "diagonal excluded (j < i)",
                ),
                Mistake(
                    "causal_mask_bottom_right",
                    "Your mask is aligned to the bottom-right corner (j <= i + Lk - Lq). The contract's causal "
                    "mask is top-left aligned, like is_causal in F.scaled_dot_product_attention: query i sees "
                    "keys 0..i whatever Lk is.",
                    _mask_variant("bottom_right"),
                    "bottom-right aligned",
                ),
            ),
        ),
    ),
)
