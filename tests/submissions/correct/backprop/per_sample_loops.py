"""Correct backprop: gradients accumulated sample by sample with outer products."""

import torch


def affine_backward(grad_out, x, W):
    n, d = x.shape
    m = W.shape[1]
    dx = torch.zeros((n, d), dtype=x.dtype, device=x.device)
    dW = torch.zeros((d, m), dtype=W.dtype, device=W.device)
    db = torch.zeros((m,), dtype=grad_out.dtype, device=grad_out.device)
    for i in range(n):
        dx[i] = W @ grad_out[i]
        dW += torch.outer(x[i], grad_out[i])
        db += grad_out[i]
    return dx, dW, db


def relu_backward(grad_out, x):
    dx = grad_out.clone()
    dx[x <= 0] = 0
    return dx


def mlp_loss_and_grads(x, y, W1, b1, W2, b2):
    n = x.shape[0]
    loss = torch.zeros((), dtype=x.dtype, device=x.device)
    gW1 = torch.zeros_like(W1)
    gb1 = torch.zeros_like(b1)
    gW2 = torch.zeros_like(W2)
    gb2 = torch.zeros_like(b2)
    for i in range(n):
        z1 = x[i] @ W1 + b1
        h = torch.clamp(z1, min=0)
        s = h @ W2 + b2
        s = s - s.max()
        e = torch.exp(s)
        total = e.sum()
        t = int(y[i])
        loss = loss + (torch.log(total) - s[t])
        ds = e / total
        ds[t] = ds[t] - 1
        ds = ds / n
        gW2 += torch.outer(h, ds)
        gb2 += ds
        dh = W2 @ ds
        dz = torch.where(z1 > 0, dh, torch.zeros_like(dh))
        gW1 += torch.outer(x[i], dz)
        gb1 += dz
    return loss / n, {"W1": gW1, "b1": gb1, "W2": gW2, "b2": gb2}
