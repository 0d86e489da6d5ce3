"""Student-style attention with one deliberate mistake: attn_mask_inverted.

The mask is used with PyTorch's attn_mask convention (True = blocked), in the
SDPA, which multi_head_attention reuses.
"""

import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))  # hide the masked positions
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                         out_proj_weight, out_proj_bias, mask=None):
    E = query.shape[-1]
    hd = E // num_heads
    q = torch.einsum("nle,fe->nlf", query, in_proj_weight[:E]) + in_proj_bias[:E]
    k = torch.einsum("nle,fe->nlf", key, in_proj_weight[E:2 * E]) + in_proj_bias[E:2 * E]
    v = torch.einsum("nle,fe->nlf", value, in_proj_weight[2 * E:]) + in_proj_bias[2 * E:]
    outs, weights = [], None
    for j in range(num_heads):
        sl = slice(j * hd, (j + 1) * hd)
        o, w = scaled_dot_product_attention(q[..., sl], k[..., sl], v[..., sl], mask)
        outs.append(o)
        weights = w if weights is None else weights + w
    concat = torch.cat(outs, dim=-1)
    out = torch.einsum("nle,fe->nlf", concat, out_proj_weight) + out_proj_bias
    return out, weights / num_heads


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
