"""Student-style activations with one deliberate mistake: softmax_global_max_shift.

softmax subtracts the maximum of the whole tensor (x.max()) instead of the
maximum along dim; rows far below the global max underflow to 0/0.
"""

import torch


def sigmoid(x):
    z = torch.exp(-torch.abs(x))
    return torch.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1 - s)


def softmax(x, dim=-1):
    e = torch.exp(x - torch.max(x))
    return e / e.sum(dim=dim, keepdim=True)


def softmax_jacobian(x):
    e = torch.exp(x - x.amax(-1, keepdim=True))
    s = e / e.sum(-1, keepdim=True)
    return torch.diag_embed(s) - s[..., :, None] * s[..., None, :]


def softmax_backward(grad_output, s):
    return s * (grad_output - torch.sum(grad_output * s, dim=-1, keepdim=True))
