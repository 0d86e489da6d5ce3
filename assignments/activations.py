"""Assignment ``activations``: sigmoid, softmax and their derivatives, by hand.

You implement five functions with elementary tensor operations (``exp``,
``log``, ``abs``, ``where``, ``sum``, ``amax``, ``matmul``, indexing, ...):

* ``sigmoid(x)`` and ``sigmoid_grad(x)``
* ``softmax(x, dim=-1)``
* ``softmax_jacobian(x)`` and ``softmax_backward(grad_output, s)``

Banned (the point is to write them yourself; the grader checks both your
source and what actually runs): ``torch.sigmoid`` / ``Tensor.sigmoid``,
``torch.special.expit``, ``torch.softmax`` / ``Tensor.softmax``, everything in
``torch.nn.functional``, and autograd (``.backward()``, ``torch.autograd.*``,
``torch.func.*``).

Also banned: torch.log_softmax (and Tensor.log_softmax), the torch.nn Sigmoid
and Softmax modules, the C functions behind torch.nn.functional (torch._C._nn),
any other library's sigmoid or softmax (scipy.special.expit and softmax,
jax.nn, tensorflow.nn, tensorflow.math, keras.activations, keras.ops, ...), and
any other automatic differentiation (jax.grad, jax.vjp, jax.jvp, jax.jacrev,
jax.jacfwd, autograd.grad, tensorflow.GradientTape).

Rules for every function:

* work for float32 and float64 on any device; return tensors on the input's
  device with the input's dtype;
* never modify the inputs in place;
* numerical stability is part of correctness: inputs up to |x| = 1e4 must
  give finite, correct results (no NaN/inf where the true value is finite).

Check your work with::

    grade check -a activations
"""

import torch


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Logistic sigmoid, elementwise: sigma(x) = 1 / (1 + e^-x).

    Args:
        x: tensor of any shape, float32 or float64.

    Returns:
        Tensor of the same shape, dtype and device, values in [0, 1].

    Must be stable: sigmoid(1e4) == 1 and sigmoid(-1e4) == 0 exactly, never NaN.

    Banned: torch.sigmoid, torch.Tensor.sigmoid, torch.special.expit,
    torch.nn.functional.*, autograd.

    Tip: sigmoid is why deep nets used to suffer vanishing gradients -- its
    derivative is at most 1/4 and tends to 0 on both sides. Numerically, never
    call exp() on a large positive number: for x < 0 write sigma(x) as
    e^x / (1 + e^x).
    """
    raise NotImplementedError


def sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    """Derivative of the sigmoid at x: d sigma / dx = sigma(x) * (1 - sigma(x)).

    Args:
        x: tensor of any shape, float32 or float64 -- the *input* of the
            sigmoid (the pre-activation), not its output.

    Returns:
        Tensor of the same shape, dtype and device, values in [0, 1/4].

    Banned: torch.sigmoid, torch.Tensor.sigmoid, torch.special.expit,
    torch.nn.functional.*, autograd.

    Tip: an interview classic is "derive sigmoid's derivative by hand"; the
    answer s * (1 - s) is expressed in terms of s = sigma(x), so compute s first.
    """
    raise NotImplementedError


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax along ``dim``: softmax(x)_i = e^(x_i) / sum_j e^(x_j).

    Args:
        x: tensor of any shape (at least 1-D), float32 or float64.
        dim: the dimension to normalize over (negative values count from the
            end); slices along ``dim`` sum to 1.

    Returns:
        Tensor of the same shape, dtype and device.

    Must be stable: subtract the max along ``dim`` before exp() (softmax is
    unchanged by adding a constant to every x_j).

    Banned: torch.softmax, torch.Tensor.softmax, torch.nn.functional.*, autograd.

    Tip: for x = [10000, 5000, 2000], exp(10000) overflows; for
    x = [-10000, -1000, -34343] every exp() underflows and the result is 0/0 =
    NaN. Shifting by max(x) fixes both.
    """
    raise NotImplementedError


def softmax_jacobian(x: torch.Tensor) -> torch.Tensor:
    """Jacobian of s = softmax(x, dim=-1) with respect to x.

    J[..., i, j] = d s_i / d x_j = s_i * (delta_ij - s_j), i.e. diag(s) - s s^T
    for every leading index.

    Args:
        x: logits of shape (..., C), float32 or float64.  # (..., C)

    Returns:
        Tensor of shape (..., C, C), same dtype and device.  # (..., C, C)

    Banned: torch.softmax, torch.Tensor.softmax, torch.nn.functional.*,
    autograd (torch.autograd.functional.jacobian, torch.func.jacrev, ...).

    Tip: "derive the softmax derivative" is a standard interview question:
    treat the cases i == j and i != j separately and you get s_i(1 - s_i) on
    the diagonal and -s_i s_j off it. torch.diag_embed builds diag(s) for a batch.
    """
    raise NotImplementedError


def softmax_backward(grad_output: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Backward pass of s = softmax(x, dim=-1): the vector-Jacobian product.

    Given g = dL/ds, returns dL/dx = J^T g = s * (g - sum_j g_j s_j), computed
    row by row over the last dimension.

    Args:
        grad_output: upstream gradient g, shape (..., C).  # (..., C)
        s: the softmax output (each row sums to 1), shape (..., C).  # (..., C)

    Returns:
        dL/dx of shape (..., C), same dtype and device as grad_output.  # (..., C)

    Banned: torch.softmax, torch.Tensor.softmax, torch.nn.functional.*, autograd.

    Tip: you do not need the (C, C) Jacobian here -- the product collapses to one
    dot product per row, (g * s).sum(-1, keepdim=True).
    """
    raise NotImplementedError
