"""Assignment ``cross_entropy``: batch softmax cross-entropy and its gradient, by hand.

You implement:

* ``cross_entropy(logits, targets)``: the mean over the batch of
  -log softmax(logits)[n, targets[n]];
* ``cross_entropy_grad(logits, targets)``: its gradient with respect to the logits.

Banned (the point is to write them yourself; the grader checks both your
source and what actually runs): everything in ``torch.nn.functional``,
``torch.log_softmax``, ``torch.softmax``, ``torch.logsumexp`` (and their
Tensor-method forms), ``torch.nn.CrossEntropyLoss`` / ``NLLLoss``, and autograd
(``.backward()``, ``torch.autograd.*``, ``torch.func.*``).

Also banned: torch.logcumsumexp (and Tensor.logcumsumexp),
torch.special.log_softmax, torch._C._nn, any other library's softmax, log-sum-
exp or cross-entropy (scipy.special logsumexp and softmax,
sklearn.metrics.log_loss, torchmetrics, jax.nn, tensorflow.nn, tensorflow.math,
keras.losses, keras.ops, ...), and any other automatic differentiation
(jax.grad, jax.vjp, jax.jvp, jax.jacrev, jax.jacfwd, autograd.grad,
tensorflow.GradientTape).

Rules for every function:

* work for float32 and float64 on any device; return tensors on the input's
  device with the logits' dtype (the loss is a 0-d tensor, not a Python float);
* never modify the inputs in place;
* numerical stability is part of correctness: logits up to 1e4 in magnitude
  must give finite, correct results (use the log-sum-exp trick).

Check your work with::

    grade check -a cross_entropy
"""

import torch


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean softmax cross-entropy of a batch.

    loss = (1/N) * sum_n [ log sum_j exp(logits[n, j]) - logits[n, targets[n]] ]

    computed with the log-sum-exp trick: log sum_j e^(z_j) = m + log sum_j e^(z_j - m)
    with m = max_j z_j.

    Args:
        logits: unnormalized scores, shape (N, C), float32 or float64.  # (N, C)
        targets: class indices in [0, C), shape (N,), int64.  # (N,)

    Returns:
        0-d tensor (the mean loss), dtype and device of ``logits``.

    Banned: torch.nn.functional.*, torch.log_softmax, torch.softmax,
    torch.logsumexp, autograd.

    Tip: "write the cross-entropy loss of a batch" is a common interview
    exercise. Do not compute softmax and then take its log: a probability that
    underflows to 0 gives log(0) = -inf. Work with log-probabilities directly.
    """
    raise NotImplementedError


def cross_entropy_grad(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Gradient of :func:`cross_entropy` with respect to the logits.

    d loss / d logits = (softmax(logits) - onehot(targets)) / N

    Args:
        logits: shape (N, C), float32 or float64.  # (N, C)
        targets: class indices in [0, C), shape (N,), int64.  # (N,)

    Returns:
        Tensor of shape (N, C), dtype and device of ``logits``.  # (N, C)

    Banned: torch.nn.functional.* (including one_hot), torch.log_softmax,
    torch.softmax, torch.logsumexp, autograd.

    Tip: cross-entropy almost always comes together with softmax because their
    combined derivative is this simple; the 1/N comes from the mean in the loss.
    """
    raise NotImplementedError
