"""Student-style attention with one deliberate mistake: attn_scale_by_dv.

The scores are divided by sqrt of v's feature size instead of q's.
(In multi_head_attention every head has dv == d, so it comes out right.)
"""

import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    d_k = v.size(-1)
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(mask == 0, float("-inf"))
    p_attn = torch.softmax(scores, dim=-1)
    return torch.matmul(p_attn, v), p_attn


def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                         out_proj_weight, out_proj_bias, mask=None):
    N, Lq, E = query.shape
    Lk = key.shape[1]
    d = E // num_heads
    q = query @ in_proj_weight[:E].T + in_proj_bias[:E]
    k = key @ in_proj_weight[E:2 * E].T + in_proj_bias[E:2 * E]
    v = value @ in_proj_weight[2 * E:].T + in_proj_bias[2 * E:]
    q = q.reshape(N, Lq, num_heads, d).permute(0, 2, 1, 3)
    k = k.reshape(N, Lk, num_heads, d).permute(0, 2, 1, 3)
    v = v.reshape(N, Lk, num_heads, d).permute(0, 2, 1, 3)
    if mask is not None and mask.dim() == 3:
        mask = mask[:, None, :, :]
    x, attn = scaled_dot_product_attention(q, k, v, mask)
    x = x.permute(0, 2, 1, 3).reshape(N, Lq, E)
    return x @ out_proj_weight.T + out_proj_bias, attn.mean(dim=1)


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
