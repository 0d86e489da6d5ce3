"""Student-style layer norm with one deliberate mistake: ln_eps_outside_sqrt.
"""
import numpy as np
import torch


def _np(t):
    return t.detach().cpu().numpy()


def layernorm_forward(x, gamma, beta, eps=1e-5):
    a = _np(x)
    mu = a.mean(axis=-1, keepdims=True)
    std = a.std(axis=-1, keepdims=True)
    out = _np(gamma) * (a - mu) / (std + eps) + _np(beta)
    return torch.from_numpy(np.ascontiguousarray(out)).to(x)


def layernorm_backward(grad_out, x, gamma, eps=1e-5):
    a, g, gam = _np(x), _np(grad_out), _np(gamma)
    D = a.shape[-1]
    mu = a.mean(axis=-1, keepdims=True)
    var = a.var(axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = (a - mu) * inv
    dxhat = g * gam
    dx = inv / D * (D * dxhat - dxhat.sum(-1, keepdims=True) - xhat * (dxhat * xhat).sum(-1, keepdims=True))
    dgamma = (g * xhat).reshape(-1, D).sum(axis=0)
    dbeta = g.reshape(-1, D).sum(axis=0)
    back = lambda v: torch.from_numpy(np.ascontiguousarray(v)).to(x)
    return back(dx), back(dgamma), back(dbeta)
