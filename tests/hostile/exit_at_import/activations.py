import os

os._exit(3)  # a leftover "quit" at the top of the module

"""Correct activations used by the hostile corpus: each hostile file imports these
and replaces `softmax` (or the module's top level) with an attack."""

import torch


def sigmoid(x):
    return torch.where(x >= 0, 1 / (1 + torch.exp(-x.abs())), torch.exp(-x.abs()) / (1 + torch.exp(-x.abs())))


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1 - s)


def good_softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


softmax = good_softmax


def softmax_jacobian(x):
    s = good_softmax(x, -1)  # (..., C)
    return torch.diag_embed(s) - s.unsqueeze(-1) * s.unsqueeze(-2)  # (..., C, C)


def softmax_backward(grad_output, s):
    return s * (grad_output - (grad_output * s).sum(-1, keepdim=True))
