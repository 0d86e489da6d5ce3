"""Student-style backprop with one deliberate mistake: relu_grad_not_chained.

relu_backward returns the local derivative (x > 0) and forgets to multiply by
grad_out.  mlp_loss_and_grads does its own (correct) ReLU backward.
"""

import torch


def affine_backward(grad_out, x, W):
    return grad_out @ W.T, x.T @ grad_out, grad_out.sum(0)


def relu_backward(grad_out, x):
    return (x > 0).to(grad_out.dtype)


def mlp_loss_and_grads(x, y, W1, b1, W2, b2):
    N = x.shape[0]
    z1 = x @ W1 + b1
    h = torch.where(z1 > 0, z1, torch.zeros_like(z1))
    scores = h @ W2 + b2
    scores = scores - scores.amax(dim=1, keepdim=True)
    e = torch.exp(scores)
    probs = e / e.sum(dim=1, keepdim=True)
    loss = (torch.log(e.sum(dim=1)) - scores[torch.arange(N), y]).mean()
    d = probs.clone()
    d[torch.arange(N), y] -= 1
    d /= N
    dh = d @ W2.T
    dz1 = dh * (z1 > 0).to(dh.dtype)
    return loss, {"W1": x.T @ dz1, "b1": dz1.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
