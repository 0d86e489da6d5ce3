"""Student-style backprop with one deliberate mistake: relu_mask_on_grad.

relu_backward masks with the sign of grad_out instead of the forward input x.
mlp_loss_and_grads does its own (correct) ReLU backward.
"""

import torch


def affine_backward(grad_out, x, W):
    return grad_out @ W.T, x.T @ grad_out, grad_out.sum(0)


def relu_backward(grad_out, x):
    dx = grad_out.clone()
    dx[grad_out <= 0] = 0
    return dx


def mlp_loss_and_grads(x, y, W1, b1, W2, b2):
    N = x.shape[0]
    z1 = x @ W1 + b1
    h = z1 * (z1 > 0)
    scores = h @ W2 + b2
    scores = scores - scores.amax(dim=1, keepdim=True)
    e = torch.exp(scores)
    probs = e / e.sum(dim=1, keepdim=True)
    loss = (torch.log(e.sum(dim=1)) - scores[torch.arange(N), y]).mean()
    d = probs.clone()
    d[torch.arange(N), y] -= 1
    d /= N
    dz1 = (d @ W2.T) * (z1 > 0)
    return loss, {"W1": x.T @ dz1, "b1": dz1.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
