"""Student-style attention with one deliberate mistake: mha_proj_not_transposed.

The projections multiply by the weight matrices as stored (x @ W) instead of
x @ W.T, for the in-projection and the out-projection alike.
"""

import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                         out_proj_weight, out_proj_bias, mask=None):
    N, Lq, E = query.shape
    Lk = key.shape[1]
    hd = E // num_heads
    W_q, W_k, W_v = in_proj_weight.chunk(3, dim=0)
    b_q, b_k, b_v = in_proj_bias.chunk(3, dim=0)
    q = (query @ W_q + b_q).reshape(N, Lq, num_heads, hd).transpose(1, 2)
    k = (key @ W_k + b_k).reshape(N, Lk, num_heads, hd).transpose(1, 2)
    v = (value @ W_v + b_v).reshape(N, Lk, num_heads, hd).transpose(1, 2)
    if mask is not None and mask.dim() == 3:
        mask = mask.unsqueeze(1)
    o, w = scaled_dot_product_attention(q, k, v, mask)
    o = o.transpose(1, 2).reshape(N, Lq, E)
    return o @ out_proj_weight + out_proj_bias, w.mean(dim=1)


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
