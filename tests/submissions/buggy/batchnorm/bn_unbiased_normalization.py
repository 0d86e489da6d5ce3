"""Buggy: torch.var's default (unbiased) variance is used to normalize in training."""
import torch


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    dims = tuple([0] + list(range(2, x.dim())))
    shape = (1, x.shape[1]) + (1,) * (x.dim() - 2)
    if training:
        mean = torch.mean(x, dim=dims)
        var = torch.var(x, dim=dims)
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.clone(), running_var.clone()
    out = gamma.reshape(shape) * (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps) + beta.reshape(shape)
    return out, new_mean, new_var
