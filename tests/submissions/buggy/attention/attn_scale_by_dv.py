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
