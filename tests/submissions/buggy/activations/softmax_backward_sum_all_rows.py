"""Student-style activations with one deliberate mistake: softmax_backward_sum_all_rows.

softmax_backward sums g * s over the whole tensor instead of over each row.
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
    s = softmax(x, dim=-1)
    return torch.diag_embed(s) - s.unsqueeze(-1) * s.unsqueeze(-2)


def softmax_backward(grad_output, s):
    dot = torch.sum(grad_output * s)
    return s * (grad_output - dot)
