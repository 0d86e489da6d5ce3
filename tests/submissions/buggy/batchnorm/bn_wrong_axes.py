"""Buggy: statistics over the batch axis only (fine for 2-D input, per-position for 3-D/4-D)."""
import torch


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    C = x.shape[1]
    shape = (1, C) + (1,) * (x.dim() - 2)
    if training:
        n = x.shape[0]
        mean = x.mean(dim=0, keepdim=True)
        var = x.var(dim=0, unbiased=False, keepdim=True)
        # running statistics are (C,): average the statistics over the positions
        new_mean = (1 - momentum) * running_mean + momentum * mean.reshape(C, -1).mean(dim=1)
        new_var = (1 - momentum) * running_var + momentum * (var * n / (n - 1)).reshape(C, -1).mean(dim=1)
    else:
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
        new_mean, new_var = running_mean.clone(), running_var.clone()
    out = gamma.reshape(shape) * (x - mean) / torch.sqrt(var + eps) + beta.reshape(shape)
    return out, new_mean, new_var
