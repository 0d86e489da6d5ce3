"""Correct backprop: einsum everywhere, relu masks as multiplications."""

import torch


def affine_backward(grad_out, x, W):
    dx = torch.einsum("nm,dm->nd", grad_out, W)
    dW = torch.einsum("nd,nm->dm", x, grad_out)
    db = torch.einsum("nm->m", grad_out)
    return dx, dW, db


def relu_backward(grad_out, x):
    return grad_out * (x > 0).to(grad_out.dtype)


def mlp_loss_and_grads(x, y, W1, b1, W2, b2):
    n = x.shape[0]
    z1 = torch.einsum("nd,dh->nh", x, W1) + b1
    h = z1 * (z1 > 0).to(z1.dtype)
    scores = torch.einsum("nh,hc->nc", h, W2) + b2
    m = scores.max(dim=1, keepdim=True).values
    log_z = torch.log(torch.exp(scores - m).sum(dim=1, keepdim=True))
    log_p = scores - m - log_z
    onehot = torch.zeros_like(scores)
    onehot[torch.arange(n, device=x.device), y] = 1.0
    loss = -(log_p * onehot).sum() / n
    dscores = (torch.exp(log_p) - onehot) / n
    dh, dW2, db2 = affine_backward(dscores, h, W2)
    dz1 = relu_backward(dh, z1)
    _, dW1, db1 = affine_backward(dz1, x, W1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
