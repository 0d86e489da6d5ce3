"""Student-style attention with one deliberate mistake: mha_weights_not_averaged.

The per-head attention weights are summed over the heads, not averaged.
"""

import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    scale = 1.0 / math.sqrt(q.shape[-1])
    s = torch.einsum("...qd,...kd->...qk", q * scale, k)
    if mask is not None:
        s = s.masked_fill(mask.logical_not(), float("-inf"))
    s = s - s.amax(dim=-1, keepdim=True)
    e = torch.exp(s)
    w = e / e.sum(dim=-1, keepdim=True)
    return torch.einsum("...qk,...kv->...qv", w, v), w


def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                         out_proj_weight, out_proj_bias, mask=None):
    E = query.shape[-1]
    hd = E // num_heads
    q = query @ in_proj_weight[:E].T + in_proj_bias[:E]
    k = key @ in_proj_weight[E:2 * E].T + in_proj_bias[E:2 * E]
    v = value @ in_proj_weight[2 * E:].T + in_proj_bias[2 * E:]
    head_outs = []
    total_weights = 0
    for j in range(num_heads):
        cols = slice(j * hd, (j + 1) * hd)
        o, w = scaled_dot_product_attention(q[..., cols], k[..., cols], v[..., cols], mask)
        head_outs.append(o)
        total_weights = total_weights + w
    out = torch.cat(head_outs, dim=-1) @ out_proj_weight.T + out_proj_bias
    return out, total_weights


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
