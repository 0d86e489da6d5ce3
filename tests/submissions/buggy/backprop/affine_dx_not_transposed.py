"""Student-style backprop with one deliberate mistake: affine_dx_not_transposed.

affine_backward computes dx = grad_out @ W (W not transposed): a shape error
unless W is square, and wrong values when it is.  Every other function is
correct.
"""

import torch


def affine_backward(grad_out, x, W):
    dx = grad_out @ W
    dW = x.T @ grad_out
    db = grad_out.sum(dim=0)
    return dx, dW, db


def relu_backward(grad_out, x):
    return grad_out * (x > 0)


def mlp_loss_and_grads(x, y, W1, b1, W2, b2):
    N = x.shape[0]
    z1 = x @ W1 + b1
    h = torch.clamp(z1, min=0)
    scores = h @ W2 + b2
    scores = scores - scores.max(dim=1, keepdim=True).values
    log_probs = scores - torch.log(torch.exp(scores).sum(dim=1, keepdim=True))
    loss = -log_probs[torch.arange(N), y].mean()
    dscores = torch.exp(log_probs)
    dscores[torch.arange(N), y] -= 1
    dscores = dscores / N
    dW2 = h.T @ dscores
    db2 = dscores.sum(dim=0)
    dz1 = (dscores @ W2.T) * (z1 > 0)
    return loss, {"W1": x.T @ dz1, "b1": dz1.sum(dim=0), "W2": dW2, "b2": db2}
