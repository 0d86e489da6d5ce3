"""Assignment ``losses``: multiclass SVM loss and binary cross-entropy, by hand.

You implement two losses and their gradients:

* ``svm_loss(scores, targets, margin=1.0)`` and ``svm_loss_grad(...)``: the
  multiclass SVM (hinge) loss of CS231n, mean over the batch, no regularization,

      L = (1/N) sum_n sum_{j != y_n} max(0, s_nj - s_ny + margin)

* ``binary_cross_entropy_with_logits(logits, targets)`` and its gradient: the
  mean over every element of

      -[t log sigma(z) + (1 - t) log(1 - sigma(z))],   sigma(z) = 1 / (1 + e^-z)

  the same as ``torch.nn.functional.binary_cross_entropy_with_logits``.

Banned (the grader checks your source and what actually runs): everything
in ``torch.nn`` (``torch.nn.functional.*`` and every module, e.g.
``nn.MultiMarginLoss``, ``nn.BCEWithLogitsLoss``), ``torch.sigmoid`` /
``Tensor.sigmoid`` / ``torch.sigmoid_``, ``torch.special.expit``,
``torch.logsigmoid`` / ``torch.log_sigmoid`` (and ``F.logsigmoid``,
``F.softplus``), ``torch.binary_cross_entropy_with_logits`` and
``torch.binary_cross_entropy``, and autograd (``.backward()``,
``torch.autograd.*``, ``torch.func.*``).  Allowed: elementary tensor ops,
including ``torch.log1p``, ``torch.exp``, ``torch.clamp``, ``torch.where``,
``gather`` and indexing.

Also banned: torch._C._nn, other libraries' sigmoid and losses
(scipy.special.expit and log_expit, sklearn.metrics.log_loss and hinge_loss,
torchmetrics, jax.nn, tensorflow.nn, keras.losses, keras.ops), and any other
automatic differentiation (jax.grad, jax.vjp, jax.jvp, jax.jacrev, jax.jacfwd,
autograd.grad, tensorflow.GradientTape).

Rules for every function: float32 and float64 on any device; outputs keep
the input's dtype and device (losses are 0-d tensors); never modify an input
in place; logits up to |z| = 1e4 must give finite, exact results.

Check your work with::

    grade check -a losses
"""

import torch


def svm_loss(scores: torch.Tensor, targets: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Multiclass SVM (hinge) loss, mean over the batch.

        L = (1/N) sum_n sum_{j != y_n} max(0, scores[n, j] - scores[n, y_n] + margin)

    Args:
        scores: class scores, shape (N, C), float32 or float64.  # (N, C)
        targets: correct classes, shape (N,), int64 in [0, C).  # (N,)
        margin: the margin (float, default 1.0).

    Returns:
        0-d tensor, scores' dtype and device.

    Edge cases: the correct class is never part of the sum (its own term
    would always be `margin`); a row whose correct score beats every other
    score by more than `margin` contributes 0.

    Banned: torch.nn (nn.MultiMarginLoss, F.multi_margin_loss), autograd.

    Tip (from the interview notes): "derive the SVM" is a classic interview
    question -- the hinge max(0, .) is why only the classes that come within
    the margin of the correct one matter.
    """
    raise NotImplementedError


def svm_loss_grad(scores: torch.Tensor, targets: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Gradient of svm_loss with respect to the scores.

    For each row n, call a margin m_nj = s_nj - s_ny + margin (j != y_n) active
    when m_nj > 0 (a margin of EXACTLY 0 is inactive). Then

        dL/ds_nj = 1/N for every active j,  0 for inactive j != y_n
        dL/ds_ny = -(number of active margins in row n) / N

    Args:
        scores: (N, C) float32 or float64.  # (N, C)
        targets: (N,) int64.  # (N,)
        margin: as in svm_loss.

    Returns:
        (N, C) tensor, scores' dtype and device.  # (N, C)

    Banned: torch.nn, autograd.

    Tip: the vectorised trick is a 0/1 mask of active margins, with the
    correct column set to minus the row sum of the mask.
    """
    raise NotImplementedError


def binary_cross_entropy_with_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of sigma(logits) against targets, mean over every element.

        l(z, t) = -[t log sigma(z) + (1 - t) log(1 - sigma(z))]
        loss = mean of l over all elements

    Args:
        logits: z, any shape, float32 or float64.
        targets: t, same shape and dtype, values in [0, 1] (soft targets allowed).

    Returns:
        0-d tensor, logits' dtype and device.

    Must be finite and exact for |z| up to 1e4: sigma(1e4) rounds to exactly
    1, so log(1 - sigma(z)) would be log(0). Rewrite l without the log of a
    sigmoid (hint: log sigma(z) = -log(1 + e^-z), and split on the sign of z,
    or use max(z, 0) - z*t + log1p(e^-|z|)).

    Banned: torch.nn (F.binary_cross_entropy_with_logits, nn.BCEWithLogitsLoss,
    F.logsigmoid, F.softplus), torch.sigmoid, torch.special.expit,
    torch.binary_cross_entropy_with_logits, autograd.

    Tip (from the interview notes): cross-entropy is convex in the logits and
    its gradient is simple -- that is why it, not the squared error, is the
    loss of classification.
    """
    raise NotImplementedError


def binary_cross_entropy_with_logits_grad(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Gradient of binary_cross_entropy_with_logits with respect to the logits.

        dL/dz = (sigma(z) - t) / logits.numel()

    Args:
        logits: z, any shape, float32 or float64.
        targets: t, same shape and dtype, values in [0, 1].

    Returns:
        Tensor of the logits' shape, dtype and device.

    Must be finite for |z| up to 1e4 (compute sigma(z) stably).

    Banned: as binary_cross_entropy_with_logits.

    Tip: the log and the sigmoid cancel out -- the gradient of the loss with
    respect to the logit is just "prediction minus target".
    """
    raise NotImplementedError
