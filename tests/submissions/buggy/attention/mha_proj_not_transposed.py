"""Buggy attention: projections use x @ W instead of x @ W.T."""
import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    d = q.size(-1)
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(d)
    if mask is not None:
        scores = scores.masked_fill(mask == 0, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return torch.matmul(weights, v), weights



def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                         out_proj_weight, out_proj_bias, mask=None):
    N, Lq, E = query.shape
    Lk = key.shape[1]
    hd = E // num_heads
    W_q, W_k, W_v = in_proj_weight.chunk(3)
    b_q, b_k, b_v = in_proj_bias.chunk(3)
    q = (query @ W_q + b_q).view(N, Lq, num_heads, hd).transpose(1, 2)
    k = (key @ W_k + b_k).view(N, Lk, num_heads, hd).transpose(1, 2)
    v = (value @ W_v + b_v).view(N, Lk, num_heads, hd).transpose(1, 2)
    if mask is not None and mask.dim() == 3:
        mask = mask.unsqueeze(1)
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    out = out.transpose(1, 2).reshape(N, Lq, E)
    return out @ out_proj_weight + out_proj_bias, weights.mean(dim=1)
