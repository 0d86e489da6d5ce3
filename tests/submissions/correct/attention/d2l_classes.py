"""Correct attention in the style of d2l.ai: a masked_softmax (masked scores set to -inf: d2l's -1e6 is not
enough for queries and keys ~1e4, whose scores reach 1e7), a
DotProductAttention class and a MultiHeadAttention class with transpose_qkv / transpose_output helpers.
The graded functions build the classes from the given weights."""
import math

import torch


def masked_softmax(X, valid):
    """Softmax over the last axis; entries where valid is False get -inf before the softmax."""
    if valid is not None:
        X = X.masked_fill(~valid, float("-inf"))
    X = X - X.max(dim=-1, keepdim=True).values
    e = X.exp()
    return e / e.sum(dim=-1, keepdim=True)


class DotProductAttention:
    def __init__(self):
        self.attention_weights = None

    def forward(self, queries, keys, values, valid=None):
        d = queries.shape[-1]
        scores = queries @ keys.transpose(-2, -1) / math.sqrt(d)
        self.attention_weights = masked_softmax(scores, valid)
        return self.attention_weights @ values


def transpose_qkv(X, num_heads):
    """(N, L, E) -> (N * num_heads, L, E / num_heads)."""
    X = X.reshape(X.shape[0], X.shape[1], num_heads, -1)
    X = X.permute(0, 2, 1, 3)
    return X.reshape(-1, X.shape[2], X.shape[3])


def transpose_output(X, num_heads):
    """The inverse of transpose_qkv."""
    X = X.reshape(-1, num_heads, X.shape[1], X.shape[2])
    X = X.permute(0, 2, 1, 3)
    return X.reshape(X.shape[0], X.shape[1], -1)


class MultiHeadAttention:
    def __init__(self, num_heads, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias):
        self.num_heads = num_heads
        self.W_q, self.W_k, self.W_v = in_proj_weight.chunk(3, dim=0)
        self.b_q, self.b_k, self.b_v = in_proj_bias.chunk(3, dim=0)
        self.W_o, self.b_o = out_proj_weight, out_proj_bias
        self.attention = DotProductAttention()

    def forward(self, queries, keys, values, valid=None):
        h = self.num_heads
        q = transpose_qkv(queries @ self.W_q.T + self.b_q, h)
        k = transpose_qkv(keys @ self.W_k.T + self.b_k, h)
        v = transpose_qkv(values @ self.W_v.T + self.b_v, h)
        if valid is not None:
            N, Lq, Lk = queries.shape[0], queries.shape[1], keys.shape[1]
            valid = valid.expand(N, Lq, Lk).repeat_interleave(h, dim=0)
        out = self.attention.forward(q, k, v, valid)
        out = transpose_output(out, h) @ self.W_o.T + self.b_o
        w = self.attention.attention_weights
        return out, w.reshape(-1, h, w.shape[1], w.shape[2]).mean(dim=1)


def scaled_dot_product_attention(q, k, v, mask=None):
    attn = DotProductAttention()
    out = attn.forward(q, k, v, mask)
    return out, attn.attention_weights


def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias, out_proj_weight,
                         out_proj_bias, mask=None):
    mha = MultiHeadAttention(num_heads, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias)
    return mha.forward(query, key, value, mask)


class PositionalEncoding:
    def __init__(self, num_hiddens, max_len=1000, dtype=torch.float32):
        P = torch.zeros((max_len, num_hiddens), dtype=torch.float64)
        X = torch.arange(max_len, dtype=torch.float64).reshape(-1, 1) / torch.pow(
            10000, torch.arange(0, num_hiddens, 2, dtype=torch.float64) / num_hiddens)
        P[:, 0::2] = torch.sin(X)
        P[:, 1::2] = torch.cos(X)
        self.P = P.to(dtype)


def sinusoidal_positional_encoding(length, d_model, dtype=torch.float32):
    return PositionalEncoding(d_model, max_len=length, dtype=dtype).P


def causal_mask(Lq, Lk=None):
    Lk = Lq if Lk is None else Lk
    return torch.arange(Lk)[None, :] <= torch.arange(Lq)[:, None]
