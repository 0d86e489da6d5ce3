"""Student-style batchnorm with one deliberate mistake: bn_batch_stats_at_inference.

At inference the batch statistics are still used to normalize (the running
statistics are returned unchanged, but never used).
"""

import torch


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    dims = [0] + list(range(2, x.dim()))
    shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
    m = x.numel() // x.shape[1]

    mean = x.mean(dim=dims)
    var = x.var(dim=dims, unbiased=False)

    if training:
        new_rm = (1 - momentum) * running_mean + momentum * mean
        new_rv = (1 - momentum) * running_var + momentum * var * m / (m - 1)
    else:
        # inference: don't touch the running averages
        new_rm = running_mean.clone()
        new_rv = running_var.clone()

    x_hat = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)
    out = gamma.view(shape) * x_hat + beta.view(shape)
    return out, new_rm, new_rv


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
