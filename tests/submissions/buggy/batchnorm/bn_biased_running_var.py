"""Student-style batchnorm with one deliberate mistake: bn_biased_running_var.

The running variance is fed the same (biased) variance that normalizes.
"""

import torch


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    C = x.shape[1]
    perm = [0] + list(range(2, x.dim())) + [1]
    xt = x.permute(*perm)  # channels last
    flat = xt.reshape(-1, C)
    if training:
        mean = flat.mean(dim=0)
        var = ((flat - mean) ** 2).mean(dim=0)
        new_mean = momentum * mean + (1 - momentum) * running_mean
        new_var = momentum * var + (1 - momentum) * running_var
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.clone(), running_var.clone()
    y = (xt - mean) / torch.sqrt(var + eps) * gamma + beta
    inv = [0] * x.dim()
    for i, p in enumerate(perm):
        inv[p] = i
    return y.permute(*inv).contiguous(), new_mean, new_var


def batchnorm_backward(grad_out, x, gamma, eps=1e-5):
    dims = [0] + list(range(2, x.dim()))
    shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
    m = x.numel() // x.shape[1]
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    xhat = (x - mean) / torch.sqrt(var + eps)
    dxhat = grad_out * gamma.reshape(shape)
    dx = (m * dxhat - dxhat.sum(dim=dims, keepdim=True)
          - xhat * (dxhat * xhat).sum(dim=dims, keepdim=True)) / (m * torch.sqrt(var + eps))
    return dx, (grad_out * xhat).sum(dim=dims), grad_out.sum(dim=dims)
