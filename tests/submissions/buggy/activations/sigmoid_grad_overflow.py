"""Student-style activations with one deliberate mistake: sigmoid_grad_overflow.

sigmoid_grad uses the textbook derivative exp(-x) / (1 + exp(-x))**2, which is
inf/inf = NaN for very negative x.  Every other function is correct.
"""

import torch


def sigmoid(x):
    out = torch.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + torch.exp(-x[pos]))
    ex = torch.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def sigmoid_grad(x):
    e = torch.exp(-x)
    return e / (1 + e) ** 2


def softmax(x, dim=-1):
    shifted = x - torch.amax(x, dim=dim, keepdim=True)
    e = torch.exp(shifted)
    return e / torch.sum(e, dim=dim, keepdim=True)


def softmax_jacobian(x):
    s = softmax(x, dim=-1)
    return torch.diag_embed(s) - torch.einsum("...i,...j->...ij", s, s)


def softmax_backward(grad_output, s):
    dot = (grad_output * s).sum(dim=-1, keepdim=True)
    return s * (grad_output - dot)
