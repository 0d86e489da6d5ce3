"""Student-style activations with one deliberate mistake: softmax_jacobian_diag_only.

softmax_jacobian returns only the diagonal s_i (1 - s_i), as for an elementwise
activation.  Every other function is correct.
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
    return torch.diag_embed(s * (1 - s))


def softmax_backward(grad_output, s):
    return s * (grad_output - (grad_output * s).sum(dim=-1, keepdim=True))
