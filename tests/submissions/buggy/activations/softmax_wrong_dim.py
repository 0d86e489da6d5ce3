"""Student-style activations with one deliberate mistake: softmax_wrong_dim.

Every other function is correct; softmax contains the bug.
"""

import torch


def sigmoid(x):
    # stable: only exponentiate non-positive numbers
    z = torch.exp(-torch.abs(x))
    return torch.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_grad(x):
    z = torch.exp(-torch.abs(x))
    s = torch.where(x >= 0, 1 / (1 + z), z / (1 + z))
    return s * (1 - s)


def softmax(x, dim=-1):
    x_max = x.max(dim=-1, keepdim=True).values
    e = torch.exp(x - x_max)
    return e / e.sum(dim=-1, keepdim=True)


def softmax_jacobian(x):
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)
    s = e / e.sum(dim=-1, keepdim=True)
    return torch.diag_embed(s) - s.unsqueeze(-1) @ s.unsqueeze(-2)


def softmax_backward(grad_output, s):
    return s * (grad_output - (grad_output * s).sum(dim=-1, keepdim=True))
