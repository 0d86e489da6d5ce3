"""Student-style activations with one deliberate mistake: softmax_jacobian_no_max_shift.

softmax itself is stable, but softmax_jacobian recomputes the softmax inline
without subtracting the row max (exp(1e4) = inf).
"""

import torch


def sigmoid(x):
    z = torch.exp(-torch.abs(x))
    return torch.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1 - s)


def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def softmax_jacobian(x):
    e = torch.exp(x)
    s = e / e.sum(dim=-1, keepdim=True)
    return torch.diag_embed(s) - s.unsqueeze(-1) * s.unsqueeze(-2)


def softmax_backward(grad_output, s):
    return s * (grad_output - (grad_output * s).sum(dim=-1, keepdim=True))
