"""Student-style layer norm with one deliberate mistake: ln_over_batch_axis.

The forward pass takes the statistics over dim 0 (the batch), as batch norm does.
"""
import torch


def layernorm_forward(x, gamma, beta, eps=1e-5):
    var, mean = torch.var_mean(x, dim=0, keepdim=True, unbiased=False)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


def layernorm_backward(grad_out, x, gamma, eps=1e-5):
    D = x.shape[-1]
    var, mean = torch.var_mean(x, dim=-1, keepdim=True, unbiased=False)
    std = torch.sqrt(var + eps)
    xhat = (x - mean) / std
    dxhat = grad_out * gamma
    dx = (D * dxhat - dxhat.sum(-1, keepdim=True) - xhat * (dxhat * xhat).sum(-1, keepdim=True)) / (D * std)
    lead = tuple(range(x.dim() - 1))
    dgamma = (grad_out * xhat).sum(dim=lead)
    dbeta = grad_out.sum(dim=lead)
    return dx, dgamma, dbeta
