"""Correct attention: hand-written stable softmax, einsum, explicit loop over heads; numpy positional encoding (TensorFlow-tutorial style), causal mask filled by loops."""
import math

import numpy as np
import torch


def _softmax_last(s):
    s = s - s.amax(dim=-1, keepdim=True)
    e = torch.exp(s)
    return e / e.sum(dim=-1, keepdim=True)


def scaled_dot_product_attention(q, k, v, mask=None):
    scale = 1.0 / math.sqrt(q.shape[-1])
    s = torch.einsum("...qd,...kd->...qk", q * scale, k)
    if mask is not None:
        s = s.masked_fill(mask.logical_not(), float("-inf"))
    w = _softmax_last(s)
    return torch.einsum("...qk,...kv->...qv", w, v), w


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
    concat = torch.cat(outs, dim=-1)  # (N, Lq, E)
    out = torch.einsum("nle,fe->nlf", concat, out_proj_weight) + out_proj_bias
    return out, weights / num_heads


def get_angles(pos, i, d_model):
    angle_rates = 1 / np.power(10000, (2 * (i // 2)) / np.float64(d_model))
    return pos * angle_rates


def sinusoidal_positional_encoding(length, d_model, dtype=torch.float32):
    angle_rads = get_angles(np.arange(length)[:, np.newaxis], np.arange(d_model)[np.newaxis, :], d_model)
    angle_rads[:, 0::2] = np.sin(angle_rads[:, 0::2])  # even indices: sin
    angle_rads[:, 1::2] = np.cos(angle_rads[:, 1::2])  # odd indices: cos
    return torch.from_numpy(angle_rads).to(dtype)


def causal_mask(Lq, Lk=None):
    Lk = Lq if Lk is None else Lk
    mask = torch.zeros(Lq, Lk, dtype=torch.bool)
    for i in range(Lq):
        for j in range(min(i + 1, Lk)):
            mask[i, j] = True
    return mask
