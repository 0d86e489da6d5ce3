"""Student-style attention with one deliberate mistake: attn_softmax_wrong_dim.

The softmax is taken over dim=-2 (the queries) instead of the keys, in the
SDPA, which multi_head_attention reuses.
"""

import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    d = q.shape[-1]
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d)  # (..., Lq, Lk)
    if mask is not None:
        scores = torch.where(mask, scores, torch.full_like(scores, float("-inf")))
    attn = torch.softmax(scores, dim=-2)
    out = torch.matmul(attn, v)
    return out, attn


def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                         out_proj_weight, out_proj_bias, mask=None):
    N, Lq, E = query.shape
    Lk = key.shape[1]
    head_dim = E // num_heads
    W_q, W_k, W_v = in_proj_weight.split(E)
    b_q, b_k, b_v = in_proj_bias.split(E)

    def split_heads(t, L):
        return t.reshape(N, L, num_heads, head_dim).transpose(1, 2)

    q = split_heads(query @ W_q.t() + b_q, Lq)
    k = split_heads(key @ W_k.t() + b_k, Lk)
    v = split_heads(value @ W_v.t() + b_v, Lk)
    if mask is not None and mask.dim() == 3:
        mask = mask.unsqueeze(1)
    o, w = scaled_dot_product_attention(q, k, v, mask)
    o = o.transpose(1, 2).reshape(N, Lq, E)
    out = o @ out_proj_weight.t() + out_proj_bias
    return out, w.mean(dim=1)


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
