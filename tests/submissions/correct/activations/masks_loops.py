"""Correct activations: sigmoid with boolean masks, softmax by moving dim last,
Jacobian and backward row by row with Python loops."""

import torch


def sigmoid(x):
    out = torch.empty_like(x)
    pos = x >= 0
    neg = ~pos
    out[pos] = 1.0 / (1.0 + torch.exp(-x[pos]))
    ex = torch.exp(x[neg])
    out[neg] = ex / (1.0 + ex)
    return out


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1 - s)


def softmax(x, dim=-1):
    xt = x.movedim(dim, -1)
    shifted = xt - xt.max(dim=-1, keepdim=True)[0]
    e = shifted.exp()
    out = e / e.sum(dim=-1, keepdim=True)
    return out.movedim(-1, dim)


def softmax_jacobian(x):
    c = x.shape[-1]
    rows = x.reshape(-1, c)
    blocks = []
    for r in range(rows.shape[0]):
        s = softmax(rows[r])
        blocks.append(torch.diag(s) - torch.outer(s, s))
    if blocks:
        J = torch.stack(blocks)
    else:
        J = x.new_zeros((0, c, c))
    return J.reshape(*x.shape, c)


def softmax_backward(grad_output, s):
    c = s.shape[-1]
    g2 = grad_output.reshape(-1, c)
    s2 = s.reshape(-1, c)
    out = torch.empty_like(g2)
    for r in range(s2.shape[0]):
        J = torch.diag(s2[r]) - torch.outer(s2[r], s2[r])
        out[r] = J.T @ g2[r]
    return out.reshape(grad_output.shape)
