"""Correct batchnorm: move channels last, flatten to (M, C), explicit sums."""
import torch


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    C = x.shape[1]
    perm = [0] + list(range(2, x.dim())) + [1]
    flat = x.permute(*perm).reshape(-1, C)  # (M, C)
    M = flat.shape[0]
    if training:
        mu = flat.sum(dim=0) / M  # (C,)
        sq = ((flat - mu) ** 2).sum(dim=0)  # (C,)
        var = sq / M
        rm = running_mean * (1 - momentum) + mu * momentum
        rv = running_var * (1 - momentum) + (sq / (M - 1)) * momentum
    else:
        mu, var = running_mean, running_var
        rm, rv = running_mean.clone(), running_var.clone()
    y = gamma * (flat - mu) / torch.sqrt(var + eps) + beta  # (M, C)
    inv = [0] * x.dim()
    for i, p in enumerate(perm):
        inv[p] = i
    out = y.reshape([x.shape[p] for p in perm]).permute(*inv).contiguous()
    return out, rm, rv


def batchnorm_backward(grad_out, x, gamma, eps=1e-5):
    # CS231n's (N, D) backward on the channels-last flattening
    C = x.shape[1]
    perm = [0] + list(range(2, x.dim())) + [1]
    flat = x.permute(*perm).reshape(-1, C)  # (M, C)
    dout = grad_out.permute(*perm).reshape(-1, C)  # (M, C)
    M = flat.shape[0]
    mu = flat.sum(dim=0) / M
    xmu = flat - mu
    var = (xmu ** 2).sum(dim=0) / M
    std = torch.sqrt(var + eps)
    xhat = xmu / std
    dbeta = dout.sum(dim=0)
    dgamma = (dout * xhat).sum(dim=0)
    dxhat = dout * gamma
    dflat = (M * dxhat - dxhat.sum(dim=0) - xhat * (dxhat * xhat).sum(dim=0)) / (M * std)
    inv = [0] * x.dim()
    for i, p in enumerate(perm):
        inv[p] = i
    dx = dflat.reshape([x.shape[p] for p in perm]).permute(*inv).contiguous()
    return dx, dgamma, dbeta
