"""Student-style attention with one deliberate mistake: causal_mask_inverted.

The causal mask marks the blocked (future) keys, as torch's attn_mask does.
"""

import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    d = q.size(-1)
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(d)
    if mask is not None:
        scores = scores.masked_fill(mask == 0, float("-inf"))
    p_attn = torch.softmax(scores, dim=-1)
    return torch.matmul(p_attn, v), p_attn


def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                         out_proj_weight, out_proj_bias, mask=None):
    N, Lq, E = query.shape
    Lk = key.shape[1]
    d_k = E // num_heads
    W = in_proj_weight.chunk(3)
    b = in_proj_bias.chunk(3)
    q = (query @ W[0].T + b[0]).view(N, Lq, num_heads, d_k).transpose(1, 2)
    k = (key @ W[1].T + b[1]).view(N, Lk, num_heads, d_k).transpose(1, 2)
    v = (value @ W[2].T + b[2]).view(N, Lk, num_heads, d_k).transpose(1, 2)
    if mask is not None and mask.dim() == 3:
        mask = mask.unsqueeze(1)
    x, attn = scaled_dot_product_attention(q, k, v, mask)
    x = x.transpose(1, 2).contiguous().view(N, Lq, E)
    return x @ out_proj_weight.T + out_proj_bias, attn.mean(dim=1)


def sinusoidal_positional_encoding(length, d_model, dtype=torch.float32):
    pe = torch.zeros(length, d_model, dtype=torch.float64)
    position = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * -(math.log(10000.0) / d_model))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe.to(dtype)


def causal_mask(Lq, Lk=None):
    if Lk is None:
        Lk = Lq
    i = torch.arange(Lq).unsqueeze(1)
    j = torch.arange(Lk).unsqueeze(0)
    return j > i
