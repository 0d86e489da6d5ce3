"""Student-style backprop with one deliberate mistake: mlp_relu_grad_at_zero.

The network's backward pass masks the ReLU with z1 >= 0, so the gradient flows
where the pre-activation is exactly 0.  relu_backward itself is correct.
"""

import torch


def affine_backward(grad_out, x, W):
    return grad_out @ W.T, x.T @ grad_out, grad_out.sum(0)


def relu_backward(grad_out, x):
    return torch.where(x > 0, grad_out, torch.zeros_like(grad_out))


def mlp_loss_and_grads(x, y, W1, b1, W2, b2):
    N = x.shape[0]
    z1 = x @ W1 + b1
    h = torch.maximum(z1, torch.zeros_like(z1))
    scores = h @ W2 + b2
    scores = scores - scores.amax(dim=1, keepdim=True)
    e = torch.exp(scores)
    probs = e / e.sum(dim=1, keepdim=True)
    loss = (torch.log(e.sum(dim=1)) - scores[torch.arange(N), y]).mean()
    d = probs.clone()
    d[torch.arange(N), y] -= 1
    d /= N
    dh = d @ W2.T
    dz1 = dh * (z1 >= 0)
    return loss, {"W1": x.T @ dz1, "b1": dz1.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
