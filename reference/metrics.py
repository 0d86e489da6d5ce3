"""Reference implementation of the ``metrics`` assignment.

Confusion matrix, precision, recall and F1 by hand (no ``sklearn``, no
``torchmetrics``), with the semantics of
``sklearn.metrics.precision_recall_fscore_support(y_true, y_pred,
labels=range(num_classes), average=..., pos_label=..., zero_division=...)``
(scikit-learn 1.9):

* per class k: tp = C[k, k], pred_k = sum_i C[i, k], true_k = sum_j C[k, j];
  precision = tp / pred_k, recall = tp / true_k,
  F1 = 2 tp / (true_k + pred_k)  (= 2PR/(P+R) where both are defined);
  a 0/0 is replaced by ``zero_division`` (0.0, 1.0 or NaN).
* "binary": the scores of class ``pos_label`` only (num_classes == 2).
* "micro": tp, pred and true summed over the classes first.
* "macro": unweighted mean of the per-class scores.
* "weighted": mean weighted by the support true_k.
* Averages ignore NaN entries (sklearn's ``_nanaverage``); if every entry is
  NaN the average is NaN; if the remaining weights sum to 0 the plain mean of
  the remaining entries is used.
"""

from __future__ import annotations

import math

import torch

__all__ = ["confusion_matrix", "precision_recall_f1"]

_AVERAGES = ("binary", "micro", "macro", "weighted")


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts C[i, j] = #{n : y_true[n] == i and y_pred[n] == j}.

    Args:
        y_true: (N,) int64 true labels in [0, num_classes).
        y_pred: (N,) int64 predicted labels in [0, num_classes).
        num_classes: C.

    Returns:
        (C, C) int64 tensor on the labels' device; rows = true, columns = predicted.
    """
    flat = y_true.reshape(-1) * num_classes + y_pred.reshape(-1)  # (N,) index into C*C cells
    counts = torch.zeros(num_classes * num_classes, dtype=torch.int64, device=y_true.device)  # (C*C,)
    counts.scatter_add_(0, flat, torch.ones_like(flat))  # (C*C,)
    return counts.reshape(num_classes, num_classes)  # (C, C)


def _divide(num: torch.Tensor, den: torch.Tensor, zero_division: float) -> torch.Tensor:
    """num / den elementwise, with ``zero_division`` where den == 0 (float64)."""
    zero = den == 0  # (K,)
    safe = torch.where(zero, torch.ones_like(den), den)  # (K,)
    fill = torch.full_like(num, zero_division)  # (K,)
    return torch.where(zero, fill, num / safe)  # (K,)


def _nanaverage(values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Weighted mean ignoring NaN entries, as sklearn.utils.extmath._nanaverage."""
    keep = ~torch.isnan(values)  # (K,)
    if not bool(keep.any()):
        return torch.full((), math.nan, dtype=torch.float64, device=values.device)  # ()
    v = values[keep]  # (K',)
    if weights is None:
        return v.mean()  # ()
    w = weights[keep]  # (K',)
    total = w.sum()  # ()
    if bool(total == 0):
        return v.mean()  # ()
    return (v * w).sum() / total  # ()


def precision_recall_f1(
    y_true: torch.Tensor,
    y_pred: torch.Tensor,
    num_classes: int,
    average: str = "macro",
    pos_label: int = 1,
    zero_division: float = 0.0,
):
    """Precision, recall and F1 with sklearn's averaging and zero_division rules.

    Args:
        y_true: (N,) int64 true labels in [0, num_classes).
        y_pred: (N,) int64 predicted labels in [0, num_classes).
        num_classes: C.
        average: "binary" (C == 2, class ``pos_label``), "micro", "macro" or "weighted".
        pos_label: the positive class for average="binary" (ignored otherwise).
        zero_division: value of a 0/0 score: 0.0, 1.0 or float("nan").

    Returns:
        (precision, recall, f1), each a 0-d float64 tensor on the labels' device.
    """
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    cm = confusion_matrix(y_true, y_pred, num_classes).to(torch.float64)  # (C, C)
    tp = torch.diagonal(cm)  # (C,)
    pred_sum = cm.sum(dim=0)  # (C,) column sums: predicted as k
    true_sum = cm.sum(dim=1)  # (C,) row sums: truly k (support)
    if average == "binary":
        if num_classes != 2:
            raise ValueError(f'average="binary" needs num_classes == 2, got {num_classes}')
        if pos_label not in (0, 1):
            raise ValueError(f"pos_label must be 0 or 1, got {pos_label!r}")
        k = slice(pos_label, pos_label + 1)
        tp, pred_sum, true_sum = tp[k], pred_sum[k], true_sum[k]  # (1,) each
    elif average == "micro":
        tp, pred_sum, true_sum = tp.sum(0, True), pred_sum.sum(0, True), true_sum.sum(0, True)  # (1,) each
    zd = float(zero_division)
    precision = _divide(tp, pred_sum, zd)  # (K,)
    recall = _divide(tp, true_sum, zd)  # (K,)
    f1 = _divide(2 * tp, true_sum + pred_sum, zd)  # (K,)
    weights = true_sum if average == "weighted" else None  # (K,) or None
    return (
        _nanaverage(precision, weights),
        _nanaverage(recall, weights),
        _nanaverage(f1, weights),
    )
