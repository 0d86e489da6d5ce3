"""Reference implementation of the ``attention`` assignment.

Scaled dot-product attention (Vaswani et al., 2017, eq. 1) and multi-head
attention with the parameter layout of ``torch.nn.MultiheadAttention``
(packed ``in_proj_weight`` rows [q; k; v], ``batch_first=True``).

``mask`` is boolean with True = "may attend" (the negation of PyTorch's bool
``attn_mask``); masked scores become -inf before the softmax.  Every row is
guaranteed to keep at least one True entry.

Added in the catalogue: the sinusoidal positional encoding of Vaswani et
al. (2017, section 3.5), PE[p, 2i] = sin(p / 10000^(2i/d_model)),
PE[p, 2i+1] = cos(p / 10000^(2i/d_model)); and the causal mask, True where
query i may attend key j, i.e. j <= i (top-left aligned, as the ``is_causal``
mask of ``torch.nn.functional.scaled_dot_product_attention``), built without
``torch.tril``/``torch.triu``.

Hand-written: no ``torch.nn.functional.scaled_dot_product_attention`` or
``multi_head_attention_forward``, no ``torch.nn`` modules.  ``torch.softmax``
is allowed (it subtracts the row max, so large scores do not overflow).
"""

from __future__ import annotations

import math

import torch

__all__ = ["scaled_dot_product_attention", "multi_head_attention", "sinusoidal_positional_encoding", "causal_mask"]


def scaled_dot_product_attention(q, k, v, mask=None):
    """softmax(q @ k^T / sqrt(d) [masked]) @ v.

    Args:
        q: (..., Lq, d), k: (..., Lk, d), v: (..., Lk, dv); leading dims broadcast.
        mask: optional bool, broadcastable to (..., Lq, Lk); True = may attend.

    Returns:
        (out (..., Lq, dv), weights (..., Lq, Lk)), dtype and device of q.
    """
    d = q.shape[-1]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(d)  # (..., Lq, Lk)
    if mask is not None:
        neg_inf = torch.full((), float("-inf"), dtype=scores.dtype, device=scores.device)
        scores = torch.where(mask, scores, neg_inf)  # (..., Lq, Lk)
    weights = torch.softmax(scores, dim=-1)  # (..., Lq, Lk), max-shifted internally
    out = weights @ v  # (..., Lq, dv)
    return out, weights


def multi_head_attention(
    query,
    key,
    value,
    num_heads,
    in_proj_weight,
    in_proj_bias,
    out_proj_weight,
    out_proj_bias,
    mask=None,
):
    """Multi-head attention, as ``torch.nn.MultiheadAttention(E, num_heads, batch_first=True)``.

    Args:
        query: (N, Lq, E); key, value: (N, Lk, E).
        num_heads: h, divides E; head_dim = E // h.
        in_proj_weight: (3E, E), rows [W_q; W_k; W_v]; in_proj_bias: (3E,).
        out_proj_weight: (E, E); out_proj_bias: (E,).
        mask: optional bool (Lq, Lk) or (N, Lq, Lk); True = may attend.

    Returns:
        (out (N, Lq, E), weights (N, Lq, Lk)): weights averaged over the heads.
    """
    N, Lq, E = query.shape
    Lk = key.shape[1]
    h = num_heads
    hd = E // h
    W_q, W_k, W_v = in_proj_weight[:E], in_proj_weight[E:2 * E], in_proj_weight[2 * E:]  # (E, E) each
    b_q, b_k, b_v = in_proj_bias[:E], in_proj_bias[E:2 * E], in_proj_bias[2 * E:]  # (E,) each

    q = query @ W_q.T + b_q  # (N, Lq, E)
    k = key @ W_k.T + b_k  # (N, Lk, E)
    v = value @ W_v.T + b_v  # (N, Lk, E)

    # split heads: E = h * hd, head j owns features [j*hd, (j+1)*hd)
    q = q.reshape(N, Lq, h, hd).transpose(1, 2)  # (N, h, Lq, hd)
    k = k.reshape(N, Lk, h, hd).transpose(1, 2)  # (N, h, Lk, hd)
    v = v.reshape(N, Lk, h, hd).transpose(1, 2)  # (N, h, Lk, hd)

    if mask is not None and mask.dim() == 3:
        mask = mask.unsqueeze(1)  # (N, 1, Lq, Lk): same mask for every head
    out, weights = scaled_dot_product_attention(q, k, v, mask)  # (N, h, Lq, hd), (N, h, Lq, Lk)

    out = out.transpose(1, 2).reshape(N, Lq, E)  # (N, Lq, E): heads concatenated
    out = out @ out_proj_weight.T + out_proj_bias  # (N, Lq, E)
    return out, weights.mean(dim=1)  # (N, Lq, E), (N, Lq, Lk)


def sinusoidal_positional_encoding(length, d_model, dtype=torch.float32):
    """Sinusoidal positional encoding (Vaswani et al., 2017, section 3.5).

    PE[p, 2i] = sin(p / 10000^(2i/d_model)), PE[p, 2i+1] = cos(p / 10000^(2i/d_model)),
    for positions p = 0..length-1.  Computed in float64 (angles up to ~length
    keep ~1e-12 absolute accuracy) and rounded once to ``dtype``.

    Args:
        length: number of positions (int >= 1).
        d_model: embedding size (even int >= 2).
        dtype: floating dtype of the result.

    Returns:
        (length, d_model) tensor of ``dtype`` on the CPU.

    Raises:
        ValueError: ``d_model`` is odd.
    """
    if d_model % 2:
        raise ValueError(f"d_model must be even, got {d_model}")
    pos = torch.arange(length, dtype=torch.float64).unsqueeze(1)  # (L, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (d/2,) the even column indices 2i
    angle = pos / torch.pow(torch.full((), 10000.0, dtype=torch.float64), two_i / d_model)  # (L, d/2)
    pe = torch.empty(length, d_model, dtype=torch.float64)  # (L, d)
    pe[:, 0::2] = torch.sin(angle)  # (L, d/2) even columns
    pe[:, 1::2] = torch.cos(angle)  # (L, d/2) odd columns
    return pe.to(dtype)


def causal_mask(Lq, Lk=None):
    """Causal attention mask: True where query i may attend key j, i.e. j <= i.

    Top-left aligned (query i sees keys 0..i whatever Lk is), the ``is_causal``
    mask of ``torch.nn.functional.scaled_dot_product_attention``; the
    "may attend" convention of :func:`scaled_dot_product_attention`.

    Args:
        Lq: number of queries (int >= 1).
        Lk: number of keys (int >= 1); defaults to ``Lq``.

    Returns:
        (Lq, Lk) bool tensor on the CPU.
    """
    if Lk is None:
        Lk = Lq
    i = torch.arange(Lq).unsqueeze(1)  # (Lq, 1) query index
    j = torch.arange(Lk).unsqueeze(0)  # (1, Lk) key index
    return j <= i  # (Lq, Lk) bool
