"""Student-style batchnorm with one deliberate mistake: bn_eps_outside_sqrt.

eps is added to the standard deviation instead of the variance.
"""

import torch


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    C = x.shape[1]
    outs, new_means, new_vars = [], [], []
    for c in range(C):
        xc = x[:, c]
        if training:
            mu = xc.mean()
            var = xc.var(unbiased=False)
            new_means.append((1 - momentum) * running_mean[c] + momentum * mu)
            new_vars.append((1 - momentum) * running_var[c] + momentum * xc.var(unbiased=True))
        else:
            mu, var = running_mean[c], running_var[c]
            new_means.append(running_mean[c].clone())
            new_vars.append(running_var[c].clone())
        std = torch.sqrt(var) + eps  # avoid dividing by zero
        outs.append(gamma[c] * (xc - mu) / std + beta[c])
    return torch.stack(outs, dim=1), torch.stack(new_means), torch.stack(new_vars)


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
