"""Student-style layer norm with one deliberate mistake: ln_backward_naive_dx.

The backward pass treats the mean and the variance as constants.
"""
import torch


def layernorm_forward(x, gamma, beta, eps=1e-5):
    var, mean = torch.var_mean(x, dim=-1, keepdim=True, unbiased=False)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


def layernorm_backward(grad_out, x, gamma, eps=1e-5):
    var, mean = torch.var_mean(x, dim=-1, keepdim=True, unbiased=False)
    std = torch.sqrt(var + eps)
    xhat = (x - mean) / std
    dx = grad_out * gamma / std
    lead = tuple(range(x.dim() - 1))
    dgamma = (grad_out * xhat).sum(dim=lead)
    dbeta = grad_out.sum(dim=lead)
    return dx, dgamma, dbeta
