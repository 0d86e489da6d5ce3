"""Reference implementation of the ``losses`` assignment (ASSIGNMENTS.md, section 10).

* Multiclass SVM (hinge) loss of CS231n (Weston & Watkins, 1999, the loss of
  CS231n's "Linear classification" notes), no regularization:

      L = (1/N) sum_n sum_{j != y_n} max(0, s_nj - s_ny + margin),

  equal to ``torch.nn.MultiMarginLoss(margin=margin)`` times C (torch divides
  by the number of classes).  Its gradient: +1/N for every active margin
  (s_nj - s_ny + margin > 0; a margin of exactly 0 is inactive) and -(number
  of active margins)/N on the correct class.

* Binary cross-entropy on logits, mean over every element:

      l(z, t) = -[t log sigma(z) + (1 - t) log(1 - sigma(z))]
              = max(z, 0) - z t + log(1 + e^-|z|)

  (the log-sum-exp form, exact and finite for any |z|; the form used by
  ``torch.nn.functional.binary_cross_entropy_with_logits``), and
  dl/dz = sigma(z) - t, divided by the number of elements for the mean.

Hand-written: no ``torch.nn.functional``, no ``torch.sigmoid``, no autograd.
"""

from __future__ import annotations

import torch

__all__ = ["svm_loss", "svm_loss_grad", "binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_grad"]


def _check_svm(scores: torch.Tensor, targets: torch.Tensor) -> None:
    if scores.dim() != 2 or targets.shape != (scores.shape[0],):
        raise ValueError(f"expected scores (N, C) and targets (N,), got {tuple(scores.shape)} and "
                         f"{tuple(targets.shape)}")


def _svm_margins(scores: torch.Tensor, targets: torch.Tensor, margin: float):
    """(margins clamped at 0 with the target column zeroed, active mask), both (N, C)."""
    N, C = scores.shape
    is_target = torch.arange(C, device=scores.device).unsqueeze(0) == targets.unsqueeze(1)  # (N, C)
    correct = scores.gather(1, targets.unsqueeze(1))  # (N, 1)
    m = scores - correct + margin  # (N, C)
    active = (m > 0) & ~is_target  # (N, C), exactly 0 is inactive
    zero = torch.zeros((), dtype=scores.dtype, device=scores.device)
    return torch.where(active, m, zero), active, is_target


def svm_loss(scores: torch.Tensor, targets: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Multiclass SVM loss, mean over the batch.

    Args:
        scores: (N, C) float32/float64 class scores.
        targets: (N,) int64 correct classes in [0, C).
        margin: the margin Delta (float).

    Returns:
        0-d tensor, scores' dtype and device.

    Raises:
        ValueError: wrong shapes.
    """
    _check_svm(scores, targets)
    m, _, _ = _svm_margins(scores, targets, margin)  # (N, C)
    return m.sum() / scores.shape[0]  # ()


def svm_loss_grad(scores: torch.Tensor, targets: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Gradient of :func:`svm_loss` with respect to the scores.

    Args:
        scores, targets, margin: as in :func:`svm_loss`.

    Returns:
        (N, C) tensor, scores' dtype and device.

    Raises:
        ValueError: wrong shapes.
    """
    _check_svm(scores, targets)
    N = scores.shape[0]
    _, active, is_target = _svm_margins(scores, targets, margin)  # (N, C)
    a = active.to(scores.dtype)  # (N, C)
    count = a.sum(dim=1, keepdim=True)  # (N, 1) active margins per row
    return torch.where(is_target, -count, a) / N  # (N, C)


def binary_cross_entropy_with_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of sigmoid(logits) against targets in [0, 1].

    Args:
        logits: any shape, float32/float64.
        targets: same shape and dtype, values in [0, 1] (soft targets allowed).

    Returns:
        0-d tensor, logits' dtype and device; finite and exact for |z| up to 1e4.

    Raises:
        ValueError: shapes differ.
    """
    if logits.shape != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} must have the same shape")
    z, t = logits, targets
    per = z.clamp(min=0) - z * t + torch.log1p(torch.exp(-z.abs()))  # like z
    return per.mean()  # ()


def binary_cross_entropy_with_logits_grad(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Gradient of :func:`binary_cross_entropy_with_logits` with respect to the logits: (sigma(z) - t) / numel.

    Args:
        logits, targets: as in :func:`binary_cross_entropy_with_logits`.

    Returns:
        Tensor like logits (dtype and device).

    Raises:
        ValueError: shapes differ.
    """
    if logits.shape != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} must have the same shape")
    e = torch.exp(-logits.abs())  # like z, in (0, 1]
    sig = torch.where(logits >= 0, 1.0 / (1.0 + e), e / (1.0 + e))  # like z, stable sigmoid
    return (sig - targets) / logits.numel()  # like z
