"""Student-style activations with one deliberate mistake: sigmoid_sign_flipped.

sigmoid exponentiates +x instead of -x (computing sigma(-x)); it is still
written stably.  sigmoid_grad has its own (correct) sigmoid, so only sigmoid is
wrong.
"""

import torch


def sigmoid(x):
    # stable form, but the sign inside exp() is wrong: this is sigma(-x)
    z = torch.exp(-torch.abs(x))
    return torch.where(x >= 0, z / (1 + z), 1 / (1 + z))


def _sig(x):
    z = torch.exp(-torch.abs(x))
    return torch.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_grad(x):
    s = _sig(x)
    return s * (1 - s)


def softmax(x, dim=-1):
    m = x.max(dim=dim, keepdim=True).values
    e = (x - m).exp()
    return e / e.sum(dim=dim, keepdim=True)


def softmax_jacobian(x):
    s = softmax(x)
    return torch.diag_embed(s) - s.unsqueeze(-1) * s.unsqueeze(-2)


def softmax_backward(grad_output, s):
    return s * (grad_output - (grad_output * s).sum(-1, keepdim=True))
