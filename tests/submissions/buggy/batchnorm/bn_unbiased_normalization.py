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
