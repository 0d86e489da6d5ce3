"""Assignment ``backprop``: a two-layer network, backpropagated by hand.

The network::

    z1     = x @ W1 + b1          # (N, H)
    h      = relu(z1)             # (N, H)
    scores = h @ W2 + b2          # (N, C)
    loss   = cross_entropy(scores, y)   # mean over the batch

You implement the backward pieces and put them together:

* ``affine_backward(grad_out, x, W)``: gradients of ``x @ W + b``;
* ``relu_backward(grad_out, x)``: gradient through a ReLU;
* ``mlp_loss_and_grads(x, y, W1, b1, W2, b2)``: the loss and the gradients of
  all four parameters.

Banned (the point is to apply the chain rule yourself; the grader checks both
your source and what actually runs): autograd (``.backward()``,
``torch.autograd.*``, ``torch.func.*``) and everything in
``torch.nn.functional``.

Also banned: torch._C._nn (the C functions behind torch.nn.functional) and any
other automatic differentiation (jax.grad, jax.vjp, jax.jvp, jax.jacrev,
jax.jacfwd, autograd.grad, tensorflow.GradientTape).

Rules for every function:

* work for float32 and float64 on any device; return tensors on the input's
  device with the input's dtype (the loss is a 0-d tensor);
* never modify the inputs in place;
* numerical stability is part of correctness: large scores must not make the
  loss or the gradients inf/NaN (use the max shift in the softmax).

Check your work with::

    grade check -a backprop
"""

import torch


def affine_backward(grad_out: torch.Tensor, x: torch.Tensor, W: torch.Tensor):
    """Gradients of the affine layer out = x @ W + b.

    dx = grad_out @ W^T,  dW = x^T @ grad_out,  db = sum over the batch of grad_out.

    Args:
        grad_out: dL/dout, shape (N, M).  # (N, M)
        x: the layer input, shape (N, D).  # (N, D)
        W: the weights, shape (D, M).  # (D, M)

    Returns:
        Tuple (dx, dW, db) with shapes (N, D), (D, M), (M,), dtype and device of
        the inputs.

    Banned: autograd, torch.nn.functional.*.

    Tip: every gradient has the shape of the thing it is the gradient of; if
    you are unsure where a transpose goes, match the shapes.
    """
    raise NotImplementedError


def relu_backward(grad_out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Gradient through relu(x) = max(x, 0).

    dx = grad_out where x > 0, and 0 where x <= 0 (the gradient at x == 0 is 0).

    Args:
        grad_out: dL/d relu(x), any shape.
        x: the ReLU's input (the pre-activation), same shape as grad_out.

    Returns:
        Tensor of the same shape, dtype and device as grad_out.

    Banned: autograd, torch.nn.functional.*.

    Tip: ReLU's derivative is 0 or 1, which is why it does not shrink gradients
    like sigmoid does -- but units stuck at x <= 0 get no gradient at all
    ("dead ReLU").
    """
    raise NotImplementedError


def mlp_loss_and_grads(x, y, W1, b1, W2, b2):
    """Loss and gradients of the two-layer network (see the module docstring).

    Args:
        x: inputs, shape (N, D), float32 or float64.  # (N, D)
        y: labels in [0, C), shape (N,), int64.  # (N,)
        W1: (D, H), b1: (H,), W2: (H, C), b2: (C,) parameters.

    Returns:
        Tuple (loss, grads): ``loss`` a 0-d tensor, the mean cross-entropy of
        the scores; ``grads`` a dict with keys "W1", "b1", "W2", "b2", each
        the gradient of the loss with the shape of that parameter.

    The gradient of the mean cross-entropy with respect to the scores is
    (softmax(scores) - onehot(y)) / N; the rest is affine_backward and
    relu_backward.

    Banned: autograd, torch.nn.functional.*.

    Tip: "derive backpropagation by hand" comes up in interviews; do the forward
    pass keeping what the backward pass needs (x, z1, h), then walk back layer
    by layer.
    """
    raise NotImplementedError
