"""Student-style backprop with one deliberate mistake: affine_dw_transposed.

Every other function is correct; affine_backward contains the bug.
"""

import torch


def affine_backward(grad_out, x, W):
    dx = grad_out @ W.T
    dW = grad_out.T @ x
    db = grad_out.sum(dim=0)
    return dx, dW, db


def relu_backward(grad_out, x):
    mask = x > 0
    return grad_out * mask


def mlp_loss_and_grads(x, y, W1, b1, W2, b2):
    N = x.shape[0]
    # forward
    a1 = x @ W1 + b1
    h1 = a1 * (a1 > 0)
    scores = h1 @ W2 + b2
    scores = scores - scores.max(dim=1, keepdim=True).values
    exp_scores = torch.exp(scores)
    probs = exp_scores / exp_scores.sum(dim=1, keepdim=True)
    correct_logprobs = torch.log(exp_scores.sum(dim=1)) - scores[torch.arange(N), y]
    loss = correct_logprobs.mean()
    # backward
    dscores = probs.clone()
    dscores[torch.arange(N), y] -= 1
    dscores /= N
    dW2 = h1.T @ dscores
    db2 = dscores.sum(dim=0)
    dh1 = dscores @ W2.T
    da1 = dh1 * (a1 > 0)
    dW1 = x.T @ da1
    db1 = da1.sum(dim=0)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
