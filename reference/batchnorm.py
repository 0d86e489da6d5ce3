"""Reference implementation of the ``batchnorm`` assignment.

Batch normalization (Ioffe & Szegedy, 2015, Algorithm 1) with the running
statistics of ``torch.nn.BatchNorm1d/2d``:

* training: normalize with the batch mean and the *biased* batch variance;
  update the running mean with the batch mean and the running variance with the
  *unbiased* batch variance, ``new = (1 - momentum) * old + momentum * batch``;
* inference: normalize with the running statistics, which are returned unchanged.

Backward pass (added in the catalogue) of the training-mode forward, with
xhat = (x - mu) * r, r = 1/sqrt(var + eps), m values per channel and
g = dL/dout * gamma (Ioffe & Szegedy, 2015, section 3; the compact form of
CS231n's ``batchnorm_backward_alt``):

    dx     = r * (g - mean(g) - xhat * mean(g * xhat))     (means per channel)
    dgamma = sum of dL/dout * xhat per channel,   dbeta = sum of dL/dout per channel.

Hand-written: no ``torch.nn.functional``, no ``torch.batch_norm``, no modules, no autograd.
"""

from __future__ import annotations

import torch

__all__ = ["batchnorm_forward", "batchnorm_backward"]


def batchnorm_forward(
    x: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
):
    """Batch normalization forward pass, training or inference.

    Args:
        x: (N, C), (N, C, L) or (N, C, H, W) float tensor.
        gamma, beta: (C,) scale and shift.
        running_mean, running_var: (C,) running statistics (not modified).
        training: use batch statistics (True) or the running ones (False).
        momentum: weight of the new batch statistic in the running average.
        eps: added to the variance inside the square root.

    Returns:
        (out, new_running_mean, new_running_var): out shaped like x, the
        running statistics (C,); all in x's dtype and on x's device.

    Formula: out = gamma * (x - mu) / sqrt(var + eps) + beta, with mu, var the
    per-channel statistics over every dim except dim 1.
    """
    C = x.shape[1]
    reduce_dims = (0,) + tuple(range(2, x.dim()))  # every dim but the channel dim
    bshape = (1, C) + (1,) * (x.dim() - 2)  # broadcast a (C,) vector over x

    if training:
        m = x.numel() // C  # values per channel
        var, mean = torch.var_mean(x, dim=reduce_dims, correction=0)  # (C,), (C,) biased
        var_unbiased = var * (m / (m - 1))  # (C,)
        new_running_mean = (1.0 - momentum) * running_mean + momentum * mean  # (C,)
        new_running_var = (1.0 - momentum) * running_var + momentum * var_unbiased  # (C,)
    else:
        mean, var = running_mean, running_var  # (C,), (C,)
        new_running_mean = running_mean.clone()  # (C,)
        new_running_var = running_var.clone()  # (C,)

    inv_std = torch.rsqrt(var + eps)  # (C,)
    x_hat = (x - mean.reshape(bshape)) * inv_std.reshape(bshape)  # like x
    out = x_hat * gamma.reshape(bshape) + beta.reshape(bshape)  # like x
    return out, new_running_mean, new_running_var


def batchnorm_backward(grad_out: torch.Tensor, x: torch.Tensor, gamma: torch.Tensor, eps: float = 1e-5):
    """Gradients of the training-mode :func:`batchnorm_forward` (batch statistics, biased variance).

    Args:
        grad_out: upstream gradient dL/dout, shaped like x.
        x: (N, C), (N, C, L) or (N, C, H, W) the forward input.
        gamma: (C,) the forward scale.
        eps: as in the forward pass.

    Returns:
        (dx like x, dgamma (C,), dbeta (C,)), x's dtype and device.

    Raises:
        ValueError: x has fewer than 2 dims, gamma is not (C,), or grad_out is not shaped like x.
    """
    if x.dim() < 2 or tuple(gamma.shape) != (x.shape[1],) or grad_out.shape != x.shape:
        raise ValueError(f"expected x (N, C, ...), gamma (C,) and grad_out like x, got {tuple(x.shape)}, "
                         f"{tuple(gamma.shape)} and {tuple(grad_out.shape)}")
    C = x.shape[1]
    reduce_dims = (0,) + tuple(range(2, x.dim()))  # every dim but the channel dim
    bshape = (1, C) + (1,) * (x.dim() - 2)  # broadcast a (C,) vector over x
    var, mean = torch.var_mean(x, dim=reduce_dims, correction=0)  # (C,), (C,) biased
    r = torch.rsqrt(var + eps).reshape(bshape)  # (1, C, 1...)
    x_hat = (x - mean.reshape(bshape)) * r  # like x
    dbeta = grad_out.sum(dim=reduce_dims)  # (C,)
    dgamma = (grad_out * x_hat).sum(dim=reduce_dims)  # (C,)
    g = grad_out * gamma.reshape(bshape)  # like x, dL/dx_hat
    g_mean = g.mean(dim=reduce_dims, keepdim=True)  # (1, C, 1...)
    gx_mean = (g * x_hat).mean(dim=reduce_dims, keepdim=True)  # (1, C, 1...)
    dx = r * (g - g_mean - x_hat * gx_mean)  # like x
    return dx, dgamma, dbeta
