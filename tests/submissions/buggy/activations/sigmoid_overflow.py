"""Student-style activations with one deliberate mistake: sigmoid_overflow.

Every other function is correct; sigmoid contains the bug.
"""

import torch


def sigmoid(x):
    ex = torch.exp(x)
    return ex / (1 + ex)


def sigmoid_grad(x):
    z = torch.exp(-torch.abs(x))
    s = torch.where(x >= 0, 1 / (1 + z), z / (1 + z))
    return s * (1 - s)


def softmax(x, dim=-1):
    x_max = x.max(dim=dim, keepdim=True).values
    e = torch.exp(x - x_max)
    return e / e.sum(dim=dim, keepdim=True)


def softmax_jacobian(x):
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)
    s = e / e.sum(dim=-1, keepdim=True)
    return torch.diag_embed(s) - s.unsqueeze(-1) @ s.unsqueeze(-2)


def softmax_backward(grad_output, s):
    return s * (grad_output - (grad_output * s).sum(dim=-1, keepdim=True))
