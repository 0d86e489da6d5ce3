"""Student-style batchnorm with one deliberate mistake: bn_wrong_axes.

Statistics are taken over the batch dim only (like BatchNorm1d on (N, C)),
so every spatial position of a channel gets its own mean and variance; the
running statistics, which must be (C,), average them over the positions.
"""

import torch


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    N, C = x.shape[0], x.shape[1]
    shape = [1, C] + [1] * (x.dim() - 2)
    if training:
        mean = x.mean(dim=0, keepdim=True)  # batch mean
        var = ((x - mean) ** 2).mean(dim=0, keepdim=True)  # batch variance (biased)
        var_unbiased = var * N / (N - 1)
        # running stats are one number per channel
        new_rm = (1 - momentum) * running_mean + momentum * mean.reshape(C, -1).mean(dim=1)
        new_rv = (1 - momentum) * running_var + momentum * var_unbiased.reshape(C, -1).mean(dim=1)
    else:
        mean = running_mean.reshape(shape)
        var = running_var.reshape(shape)
        new_rm, new_rv = running_mean.clone(), running_var.clone()
    x_norm = (x - mean) / torch.sqrt(var + eps)
    return gamma.reshape(shape) * x_norm + beta.reshape(shape), new_rm, new_rv


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
