"""Correct attention: leading dims flattened into one batch dim, torch.bmm, additive mask; float32 positional encoding, arange-comparison causal mask."""
import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    Lq, d = q.shape[-2:]
    Lk, dv = v.shape[-2:]
    shapes = [q.shape[:-2], k.shape[:-2], v.shape[:-2]]
    if mask is not None:
        shapes.append(mask.shape[:-2])
    lead = torch.broadcast_shapes(*shapes)
    qb = q.expand(*lead, Lq, d).reshape(-1, Lq, d)
    kb = k.expand(*lead, Lk, d).reshape(-1, Lk, d)
    vb = v.expand(*lead, Lk, dv).reshape(-1, Lk, dv)
    scores = torch.bmm(qb, kb.transpose(1, 2)) * d ** -0.5  # (B, Lq, Lk)
    if mask is not None:
        mb = mask.expand(*lead, Lq, Lk).reshape(-1, Lq, Lk)
        additive = torch.zeros(mb.shape, dtype=q.dtype, device=q.device).masked_fill(~mb, float("-inf"))
        scores = scores + additive
    w = torch.softmax(scores, dim=-1)
    out = torch.bmm(w, vb)
    return out.reshape(*lead, Lq, dv), w.reshape(*lead, Lq, Lk)


def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                         out_proj_weight, out_proj_bias, mask=None):
    N, Lq, E = query.shape
    Lk = key.shape[1]
    h, hd = num_heads, E // num_heads
    W_q, W_k, W_v = in_proj_weight.split(E, dim=0)
    b_q, b_k, b_v = in_proj_bias.split(E, dim=0)
    q = torch.addmm(b_q, query.reshape(-1, E), W_q.t()).reshape(N, Lq, h, hd).permute(0, 2, 1, 3)
    k = torch.addmm(b_k, key.reshape(-1, E), W_k.t()).reshape(N, Lk, h, hd).permute(0, 2, 1, 3)
    v = torch.addmm(b_v, value.reshape(-1, E), W_v.t()).reshape(N, Lk, h, hd).permute(0, 2, 1, 3)
    if mask is not None and mask.dim() == 3:
        mask = mask.reshape(N, 1, Lq, Lk)
    o, w = scaled_dot_product_attention(q, k, v, mask)  # (N, h, Lq, hd), (N, h, Lq, Lk)
    o = o.permute(0, 2, 1, 3).reshape(N * Lq, E)
    out = torch.addmm(out_proj_bias, o, out_proj_weight.t()).reshape(N, Lq, E)
    return out, w.sum(dim=1) / h


def sinusoidal_positional_encoding(length, d_model, dtype=torch.float32):
    # the "annotated transformer" way: frequencies via exp/log, computed in float32
    pe = torch.zeros(length, d_model)
    position = torch.arange(0, length).unsqueeze(1).float()
    div_term = torch.exp(torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe.to(dtype)


def causal_mask(Lq, Lk=None):
    if Lk is None:
        Lk = Lq
    rows = torch.arange(Lq).view(-1, 1)
    cols = torch.arange(Lk).view(1, -1)
    return cols <= rows
