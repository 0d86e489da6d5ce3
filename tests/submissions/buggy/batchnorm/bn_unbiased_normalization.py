"""Student-style batchnorm with one deliberate mistake: bn_unbiased_normalization.

torch.var defaults to the unbiased estimate, and that one is used to
normalize as well as for the running variance.
"""

import torch


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    axes = [0] + list(range(2, x.dim()))
    view = [1, -1] + [1] * (x.dim() - 2)
    if training:
        mean = torch.mean(x, dim=axes)
        var = torch.var(x, dim=axes)
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * var
    else:
        mean, var = running_mean, running_var
        running_mean, running_var = running_mean.clone(), running_var.clone()
    out = (x - mean.view(view)) / torch.sqrt(var.view(view) + eps)
    out = out * gamma.view(view) + beta.view(view)
    return out, running_mean, running_var


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
