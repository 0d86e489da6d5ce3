"""Assignment ``layernorm``: layer normalization, forward and backward, by hand.

Layer normalization (Ba, Kiros & Hinton, 2016) normalizes every row of x
over its LAST dimension (the D features), with that row's own mean and
biased variance, then scales and shifts each feature:

    mu  = mean of x over the last dim                    # (..., 1)
    var = mean of (x - mu)^2 over the last dim (biased)  # (..., 1)
    y   = gamma * (x - mu) / sqrt(var + eps) + beta      # (..., D)

the same as ``torch.nn.functional.layer_norm(x, (D,), gamma, beta, eps)``.

You implement ``layernorm_forward(x, gamma, beta, eps=1e-5)`` and
``layernorm_backward(grad_out, x, gamma, eps=1e-5)``.

Banned (the grader checks your source and what actually runs): everything
in ``torch.nn`` (``torch.nn.functional.*`` such as ``F.layer_norm``, and every
module such as ``nn.LayerNorm``), ``torch.layer_norm``,
``torch.native_layer_norm``, ``torch.rms_norm``, ``torch.group_norm``,
``torch.native_group_norm``, ``torch.instance_norm``, ``torch.batch_norm``,
``torch.native_batch_norm``, and autograd (``.backward()``,
``torch.autograd.*``, ``torch.func.*``).  Allowed: elementary tensor ops,
``torch.mean``, ``torch.var``, ``torch.var_mean``, ``torch.sqrt``, ``torch.rsqrt``.

Also banned: quantized norm modules (torch.ao), torch._C._nn, other libraries'
normalization (sklearn.preprocessing, jax.nn, flax, tensorflow.nn,
keras.layers, keras.ops), and any other automatic differentiation (jax.grad,
jax.vjp, jax.jvp, jax.jacrev, jax.jacfwd, autograd.grad,
tensorflow.GradientTape).

Rules for every function: float32 and float64 on any device; outputs keep
x's dtype and device; never modify an input in place; inputs up to 1e4 in
magnitude (also rows like 1e4 + N(0, 1)) must give finite, correct results.

Check your work with::

    grade check -a layernorm
"""

import torch


def layernorm_forward(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Layer normalization over the last dimension.

        y = gamma * (x - mu) / sqrt(var + eps) + beta
        mu, var: mean and BIASED variance (divide by D) of each row over the last dim

    Args:
        x: input of shape (..., D), e.g. (N, D) or (N, T, D), float32 or float64.  # (..., D)
        gamma: scale, shape (D,), same dtype.  # (D,)
        beta: shift, shape (D,), same dtype.  # (D,)
        eps: float added to the variance inside the square root.

    Returns:
        y of x's shape, dtype and device.  # (..., D)

    Edge cases: a row whose values are all equal (variance 0, e.g. D = 1)
    gives y = beta for that row.

    Banned: torch.nn.functional.* (F.layer_norm), torch.layer_norm,
    torch.native_layer_norm, torch.nn modules (nn.LayerNorm), the other
    normalization kernels, autograd.

    Tip (from the interview notes): batch norm normalizes each feature over
    the batch, layer norm each example over its features -- so layer norm
    does not depend on the batch size, works with a batch of one and in RNNs
    and Transformers, where sequence lengths differ.
    """
    raise NotImplementedError


def layernorm_backward(grad_out: torch.Tensor, x: torch.Tensor, gamma: torch.Tensor, eps: float = 1e-5):
    """Backward pass of layernorm_forward.

    With xhat = (x - mu) / sqrt(var + eps) and g = grad_out * gamma:

        dx     = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps)   (means over the last dim)
        dgamma = sum of grad_out * xhat over every dim except the last
        dbeta  = sum of grad_out over every dim except the last

    Args:
        grad_out: upstream gradient dL/dy, shape (..., D).  # (..., D)
        x: the forward input, shape (..., D).  # (..., D)
        gamma: the forward scale, shape (D,).  # (D,)
        eps: as in the forward pass.

    Returns:
        (dx, dgamma, dbeta): dx of x's shape, dgamma and dbeta of shape (D,);
        x's dtype and device.

    Banned: as layernorm_forward (no autograd to check yourself inside the function).

    Tip: mu and var depend on every x of the row -- forgetting those two
    paths (dx = g / sqrt(var + eps)) is the classic mistake. Check your
    gradient against finite differences of your own forward pass.
    """
    raise NotImplementedError
