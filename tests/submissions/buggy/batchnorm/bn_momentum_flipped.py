"""Buggy: momentum weighs the old running value (Keras/EMA-style convention)."""
import torch


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    dims = tuple([0] + list(range(2, x.dim())))
    shape = (1, x.shape[1]) + (1,) * (x.dim() - 2)
    if training:
        var, mean = torch.var_mean(x, dim=dims, unbiased=False)
        var_unbiased = torch.var(x, dim=dims, unbiased=True)
        new_mean = momentum * running_mean + (1 - momentum) * mean
        new_var = momentum * running_var + (1 - momentum) * var_unbiased
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.clone(), running_var.clone()
    out = gamma.reshape(shape) * (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps) + beta.reshape(shape)
    return out, new_mean, new_var
