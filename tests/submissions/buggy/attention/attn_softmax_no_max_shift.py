"""Student-style attention with one deliberate mistake: attn_softmax_no_max_shift.

A hand-written softmax that exponentiates the raw scores (overflows on large
scores), in the SDPA, which multi_head_attention reuses.
"""

import math

import torch


def _softmax(s):
    e = torch.exp(s)
    return e / e.sum(dim=-1, keepdim=True)


def scaled_dot_product_attention(q, k, v, mask=None):
    s = torch.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    w = _softmax(s)
    return torch.einsum("...qk,...kv->...qv", w, v), w


def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                         out_proj_weight, out_proj_bias, mask=None):
    N, Lq, E = query.shape
    Lk = key.shape[1]
    hd = E // num_heads
    W_q, W_k, W_v = in_proj_weight.chunk(3)
    b_q, b_k, b_v = in_proj_bias.chunk(3)
    q = (query @ W_q.T + b_q).reshape(N, Lq, num_heads, hd).permute(0, 2, 1, 3)
    k = (key @ W_k.T + b_k).reshape(N, Lk, num_heads, hd).permute(0, 2, 1, 3)
    v = (value @ W_v.T + b_v).reshape(N, Lk, num_heads, hd).permute(0, 2, 1, 3)
    if mask is not None and mask.dim() == 3:
        mask = mask[:, None]
    o, w = scaled_dot_product_attention(q, k, v, mask)
    o = o.permute(0, 2, 1, 3).reshape(N, Lq, E)
    return o @ out_proj_weight.T + out_proj_bias, w.mean(dim=1)


def sinusoidal_positional_encoding(length, d_model, dtype=torch.float32):
    pos = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    freq = 10000.0 ** (torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    pe = torch.zeros(length, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos / freq)
    pe[:, 1::2] = torch.cos(pos / freq)
    return pe.to(dtype)


def causal_mask(Lq, Lk=None):
    if Lk is None:
        Lk = Lq
    q_idx = torch.arange(Lq)[:, None]
    k_idx = torch.arange(Lk)[None, :]
    return k_idx <= q_idx
