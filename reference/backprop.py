"""Reference implementation of the ``backprop`` assignment.

Backpropagation through ``h = relu(x @ W1 + b1)``, ``scores = h @ W2 + b2``,
``loss = cross_entropy(scores, y)`` (mean over the batch), by hand: no
autograd and no ``torch.nn.functional``.

Formulas (chain rule; e.g. CS231n "Backpropagation, intuitions" and
Goodfellow, Bengio & Courville, *Deep Learning*, 6.5):

* affine ``out = x @ W + b``: dx = g @ W^T, dW = x^T @ g, db = sum_n g[n]
* relu ``out = max(x, 0)``: dx = g where x > 0, else 0 (0 at x == 0, as torch)
* cross-entropy (mean): dscores = (softmax(scores) - onehot(y)) / N
"""

from __future__ import annotations

import torch

__all__ = ["affine_backward", "relu_backward", "mlp_loss_and_grads"]


def affine_backward(grad_out: torch.Tensor, x: torch.Tensor, W: torch.Tensor):
    """Gradients of ``out = x @ W + b`` given ``grad_out = dL/dout``.

    Args:
        grad_out: (N, M) upstream gradient.
        x: (N, D) layer input.
        W: (D, M) weights.

    Returns:
        (dx (N, D), dW (D, M), db (M,)), dtype and device of the inputs.
    """
    dx = grad_out @ W.T  # (N, M) @ (M, D) -> (N, D)
    dW = x.T @ grad_out  # (D, N) @ (N, M) -> (D, M)
    db = grad_out.sum(dim=0)  # (M,)
    return dx, dW, db


def relu_backward(grad_out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Gradient of ``relu(x)`` given ``grad_out``: grad_out where x > 0, else 0.

    Args:
        grad_out: any shape, the upstream gradient.
        x: same shape, the relu input (the pre-activation).

    Returns:
        Tensor shaped like ``grad_out``, same dtype and device.  The
        subgradient at x == 0 is 0 (torch's convention).
    """
    zero = torch.zeros((), dtype=grad_out.dtype, device=grad_out.device)  # ()
    return torch.where(x > 0, grad_out, zero)  # (...)


def mlp_loss_and_grads(x, y, W1, b1, W2, b2):
    """Loss and parameter gradients of the two-layer network.

    Args:
        x: (N, D) inputs.
        y: (N,) int64 labels in [0, C).
        W1: (D, H), b1: (H,), W2: (H, C), b2: (C,) parameters.

    Returns:
        (loss, grads): loss a 0-d tensor (mean cross-entropy), grads a dict
        with keys "W1", "b1", "W2", "b2" shaped like the parameters.
    """
    n = x.shape[0]
    # forward
    z1 = x @ W1 + b1  # (N, H) pre-activations
    h = torch.where(z1 > 0, z1, torch.zeros((), dtype=z1.dtype, device=z1.device))  # (N, H)
    scores = h @ W2 + b2  # (N, C)
    shifted = scores - scores.amax(dim=1, keepdim=True)  # (N, C) row max is 0
    e = torch.exp(shifted)  # (N, C)
    sum_e = e.sum(dim=1, keepdim=True)  # (N, 1)
    rows = torch.arange(n, device=x.device)  # (N,)
    loss = (torch.log(sum_e).reshape(n) - shifted[rows, y]).mean()  # ()
    # backward
    dscores = e / sum_e  # (N, C) softmax
    dscores[rows, y] -= 1  # (N, C) softmax - onehot
    dscores = dscores / n  # (N, C)
    dh, dW2, db2 = affine_backward(dscores, h, W2)  # (N, H), (H, C), (C,)
    dz1 = relu_backward(dh, z1)  # (N, H)
    _, dW1, db1 = affine_backward(dz1, x, W1)  # _, (D, H), (H,)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
