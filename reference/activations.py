"""Reference implementation of the ``activations`` assignment.

Sigmoid, softmax and their derivatives, written by hand with elementary tensor
ops only (no ``torch.sigmoid`` / ``torch.special.expit`` / ``torch.softmax`` /
``torch.nn.functional`` / autograd), numerically stable for inputs up to 1e4.

Formulas (e.g. Goodfellow, Bengio & Courville, *Deep Learning*, sections 4.1
and 6.2.2.3; the softmax Jacobian is the standard one from any backprop
derivation):

* sigmoid(x) = 1 / (1 + e^-x), evaluated through z = e^-|x| in (0, 1] so that
  no exponential can overflow: sigmoid(x) = 1/(1+z) for x >= 0, z/(1+z) for x < 0.
* sigmoid'(x) = sigmoid(x) (1 - sigmoid(x)) = z / (1 + z)^2 (symmetric in x;
  no cancellation in 1 - sigmoid(x) for large x).
* softmax(x)_i = e^(x_i - m) / sum_j e^(x_j - m), m = max_j x_j (shift invariance).
* J[..., i, j] = s_i (delta_ij - s_j) = diag(s) - s s^T.
* vector-Jacobian product: g^T J = s * (g - sum_j g_j s_j)   (J is symmetric).
"""

from __future__ import annotations

import torch

__all__ = ["sigmoid", "sigmoid_grad", "softmax", "softmax_jacobian", "softmax_backward"]


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Logistic sigmoid 1 / (1 + e^-x), elementwise.

    Args:
        x: any shape, float32/float64.

    Returns:
        Tensor shaped like ``x``, same dtype and device, values in [0, 1].
    """
    z = torch.exp(-x.abs())  # (...) in (0, 1]: never overflows
    return torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))  # (...)


def sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    """Derivative of the sigmoid at ``x``: sigma(x) (1 - sigma(x)), elementwise.

    Computed as e^-|x| / (1 + e^-|x|)^2, which equals sigma(x)(1 - sigma(x))
    exactly and avoids the cancellation in 1 - sigma(x) for large x.

    Args:
        x: any shape, float32/float64 (the pre-activation, not sigma(x)).

    Returns:
        Tensor shaped like ``x``, same dtype and device, values in [0, 1/4].
    """
    z = torch.exp(-x.abs())  # (...) in (0, 1]
    return z / (1.0 + z) ** 2  # (...)


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax along ``dim``: e^(x - max) / sum(e^(x - max)).

    Args:
        x: any shape (at least 1-D), float32/float64.
        dim: the dimension that sums to 1 (negative values count from the end).

    Returns:
        Tensor shaped like ``x``, same dtype and device.
    """
    m = x.amax(dim=dim, keepdim=True)  # (..., 1, ...) max along dim
    e = torch.exp(x - m)  # (...) in (0, 1], largest entry is exactly 1
    return e / e.sum(dim=dim, keepdim=True)  # (...)


def softmax_jacobian(x: torch.Tensor) -> torch.Tensor:
    """Jacobian of softmax(x, -1) with respect to x, for every leading index.

    J[..., i, j] = d s_i / d x_j = s_i (delta_ij - s_j).

    Args:
        x: (..., C) float32/float64 logits.

    Returns:
        (..., C, C) tensor, same dtype and device.
    """
    s = softmax(x, dim=-1)  # (..., C)
    outer = s.unsqueeze(-1) * s.unsqueeze(-2)  # (..., C, C) s_i s_j
    return torch.diag_embed(s) - outer  # (..., C, C)


def softmax_backward(grad_output: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Backward pass of softmax over the last dim: grad_x = J^T grad_output.

    grad_x = s * (g - sum_j g_j s_j), with s = softmax(x, -1) the forward output.

    Args:
        grad_output: (..., C) upstream gradient dL/ds.
        s: (..., C) the softmax output (each row sums to 1).

    Returns:
        (..., C) gradient dL/dx, same dtype and device as ``grad_output``.
    """
    dot = (grad_output * s).sum(dim=-1, keepdim=True)  # (..., 1) sum_j g_j s_j
    return s * (grad_output - dot)  # (..., C)
