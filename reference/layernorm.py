"""Reference implementation of the ``layernorm`` assignment (ASSIGNMENTS.md, section 9).

Layer normalization (Ba, Kiros & Hinton, *Layer Normalization*, 2016, eq. 4):
every row (the last dimension, of size D) is normalized with its own mean and
*biased* variance, then scaled and shifted per feature,

    y = gamma * (x - mu) / sqrt(var + eps) + beta,   mu, var over the last dim,

the semantics of ``torch.nn.functional.layer_norm(x, (D,), gamma, beta, eps)``.

The backward pass is the standard one of a normalization over D values (the
batch-norm derivation of Ioffe & Szegedy, 2015, section 3, applied to a row
instead of a column; e.g. CS231n assignment 2): with xhat = (x - mu) * r,
r = 1/sqrt(var + eps) and g = dL/dy * gamma,

    dx     = r * (g - mean(g) - xhat * mean(g * xhat))     (means over the last dim)
    dgamma = sum over every leading index of dL/dy * xhat
    dbeta  = sum over every leading index of dL/dy.

Hand-written: no ``torch.nn.functional``, no ``torch.layer_norm``, no autograd.
The variance is computed in two passes (mean of (x - mu)^2), so that rows with a
large common offset (x ~ 1e4 + N(0, 1)) keep their precision.
"""

from __future__ import annotations

import torch

__all__ = ["layernorm_forward", "layernorm_backward"]


def _check(x: torch.Tensor, gamma: torch.Tensor) -> int:
    if x.dim() < 1:
        raise ValueError("x must have at least one dimension (the normalized one)")
    D = x.shape[-1]
    if tuple(gamma.shape) != (D,):
        raise ValueError(f"gamma must have shape ({D},), got {tuple(gamma.shape)}")
    return D


def _normalize(x: torch.Tensor, eps: float):
    """(xhat, r): the normalized rows and 1/sqrt(var + eps), r keeping a trailing dim of 1."""
    mu = x.mean(dim=-1, keepdim=True)  # (..., 1)
    xc = x - mu  # (..., D)
    var = (xc * xc).mean(dim=-1, keepdim=True)  # (..., 1) biased variance
    r = torch.rsqrt(var + eps)  # (..., 1)
    return xc * r, r  # (..., D), (..., 1)


def layernorm_forward(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Layer normalization over the last dimension.

    Args:
        x: (..., D) float32/float64, at least 1-D.
        gamma, beta: (D,) scale and shift, x's dtype.
        eps: added to the variance inside the square root.

    Returns:
        Tensor shaped like x, x's dtype and device.

    Raises:
        ValueError: x is 0-d, or gamma is not (D,).
    """
    _check(x, gamma)
    xhat, _ = _normalize(x, eps)  # (..., D)
    return xhat * gamma + beta  # (..., D)


def layernorm_backward(grad_out: torch.Tensor, x: torch.Tensor, gamma: torch.Tensor, eps: float = 1e-5):
    """Gradients of :func:`layernorm_forward` with respect to x, gamma and beta.

    Args:
        grad_out: (..., D) upstream gradient dL/dy.
        x: (..., D) the forward input.
        gamma: (D,) the forward scale.
        eps: as in the forward pass.

    Returns:
        (dx like x, dgamma (D,), dbeta (D,)), x's dtype and device.

    Raises:
        ValueError: x is 0-d, gamma is not (D,), or grad_out is not shaped like x.
    """
    D = _check(x, gamma)
    if grad_out.shape != x.shape:
        raise ValueError(f"grad_out must have x's shape {tuple(x.shape)}, got {tuple(grad_out.shape)}")
    xhat, r = _normalize(x, eps)  # (..., D), (..., 1)
    dbeta = grad_out.reshape(-1, D).sum(dim=0)  # (D,)
    dgamma = (grad_out * xhat).reshape(-1, D).sum(dim=0)  # (D,)
    g = grad_out * gamma  # (..., D) dL/dxhat
    dx = r * (g - g.mean(dim=-1, keepdim=True) - xhat * (g * xhat).mean(dim=-1, keepdim=True))  # (..., D)
    return dx, dgamma, dbeta
