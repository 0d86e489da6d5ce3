"""Student-style batchnorm with one deliberate mistake: bn_backward_wrong_axes.

The (N, D) backward of CS231n is applied unchanged: everything is reduced over axis 0 only.
"""
import numpy as np
import torch


def _np(t):
    return t.detach().cpu().numpy()


def _axes(a):
    return (0,) + tuple(range(2, a.ndim)), (1, a.shape[1]) + (1,) * (a.ndim - 2)


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    a = _np(x)
    axes, shape = _axes(a)
    rm, rv = _np(running_mean), _np(running_var)
    if training:
        m = a.size // a.shape[1]
        mu = a.mean(axis=axes)
        var = a.var(axis=axes)  # ddof=0
        new_rm = (1 - momentum) * rm + momentum * mu
        new_rv = (1 - momentum) * rv + momentum * var * m / (m - 1)
    else:
        mu, var = rm, rv
        new_rm, new_rv = rm.copy(), rv.copy()
    out = _np(gamma).reshape(shape) * (a - mu.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) \
        + _np(beta).reshape(shape)
    back = lambda v: torch.from_numpy(np.ascontiguousarray(v)).to(x)
    return back(out), back(new_rm), back(new_rv)


def batchnorm_backward(grad_out, x, gamma, eps=1e-5):
    a, g = _np(x), _np(grad_out)
    _, shape = _axes(a)
    N = a.shape[0]
    mu = a.mean(axis=0)
    var = a.var(axis=0)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = (a - mu) * inv
    dxhat = g * _np(gamma).reshape(shape)
    dx = inv / N * (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    back = lambda v: torch.from_numpy(np.ascontiguousarray(v)).to(x)
    return back(dx), back((g * xhat).sum(axis=0)), back(g.sum(axis=0))
