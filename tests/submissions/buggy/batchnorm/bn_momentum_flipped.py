"""Student-style batchnorm with one deliberate mistake: bn_momentum_flipped.

The running averages keep `momentum` of the old value (Keras-style) instead
of taking `momentum` of the new batch statistic.
"""

import torch


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    dims = (0,) + tuple(range(2, x.dim()))
    bshape = (1, -1) + (1,) * (x.dim() - 2)
    if training:
        var, mean = torch.var_mean(x, dim=dims, unbiased=False)
        var_unb = torch.var(x, dim=dims, unbiased=True)
        running_mean_new = momentum * running_mean + (1 - momentum) * mean
        running_var_new = momentum * running_var + (1 - momentum) * var_unb
    else:
        mean, var = running_mean, running_var
        running_mean_new = running_mean.clone()
        running_var_new = running_var.clone()
    inv_std = torch.rsqrt(var + eps)
    out = (x - mean.view(bshape)) * inv_std.view(bshape) * gamma.view(bshape) + beta.view(bshape)
    return out, running_mean_new, running_var_new


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
