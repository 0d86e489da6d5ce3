"""Reference implementation of the ``attention`` assignment.

Scaled dot-product attention (Vaswani et al., 2017, eq. 1) and multi-head
attention with the parameter layout of ``torch.nn.MultiheadAttention``
(packed ``in_proj_weight`` rows [q; k; v], ``batch_first=True``).

``mask`` is boolean with True = "may attend" (the negation of PyTorch's bool
``attn_mask``); masked scores become -inf before the softmax.  Every row is
guaranteed to keep at least one True entry.

Hand-written: no ``torch.nn.functional.scaled_dot_product_attention`` or
``multi_head_attention_forward``, no ``torch.nn`` modules.  ``torch.softmax``
is allowed (it subtracts the row max, so large scores do not overflow).
"""

from __future__ import annotations

import math

import torch

__all__ = ["scaled_dot_product_attention", "multi_head_attention"]


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
