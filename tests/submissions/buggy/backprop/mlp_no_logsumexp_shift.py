"""Student-style backprop with one deliberate mistake: mlp_no_logsumexp_shift.

mlp_loss_and_grads exponentiates the raw scores (no max shift): scores ~1e3
overflow.  Every other function is correct.
"""

import torch


def affine_backward(grad_out, x, W):
    return grad_out @ W.T, x.T @ grad_out, grad_out.sum(0)


def relu_backward(grad_out, x):
    return grad_out * (x > 0)


def mlp_loss_and_grads(x, y, W1, b1, W2, b2):
    N = x.shape[0]
    z1 = x @ W1 + b1
    h = z1 * (z1 > 0)
    scores = h @ W2 + b2
    exp_scores = torch.exp(scores)
    probs = exp_scores / exp_scores.sum(dim=1, keepdim=True)
    loss = (torch.log(exp_scores.sum(dim=1)) - scores[torch.arange(N), y]).mean()
    dscores = probs.clone()
    dscores[torch.arange(N), y] -= 1
    dscores /= N
    dz1 = (dscores @ W2.T) * (z1 > 0)
    return loss, {"W1": x.T @ dz1, "b1": dz1.sum(0), "W2": h.T @ dscores, "b2": dscores.sum(0)}
