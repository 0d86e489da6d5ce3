"""Student-style batchnorm with one deliberate mistake: bn_always_training.

The training flag is never looked at: batch statistics and a running-stat
update every time.
"""

import torch


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    C = x.shape[1]
    reduce_dims = tuple(d for d in range(x.dim()) if d != 1)
    shape = (1, C) + (1,) * (x.dim() - 2)

    mu = torch.mean(x, dim=reduce_dims)
    var = torch.var(x, dim=reduce_dims, unbiased=False)
    var_unbiased = torch.var(x, dim=reduce_dims, unbiased=True)

    new_running_mean = (1 - momentum) * running_mean + momentum * mu
    new_running_var = (1 - momentum) * running_var + momentum * var_unbiased

    out = gamma.reshape(shape) * (x - mu.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps) \
        + beta.reshape(shape)
    return out, new_running_mean, new_running_var


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
