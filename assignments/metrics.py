"""Assignment ``metrics``: confusion matrix, precision, recall and F1, by hand.

You implement:

* ``confusion_matrix(y_true, y_pred, num_classes)``;
* ``precision_recall_f1(y_true, y_pred, num_classes, average, pos_label, zero_division)``.

The semantics are exactly those of
``sklearn.metrics.precision_recall_fscore_support(y_true, y_pred,
labels=list(range(num_classes)), average=average, pos_label=pos_label,
zero_division=zero_division)`` -- but you may not use it.

Banned: ``sklearn`` and ``torchmetrics`` (anything in them).

Also banned: any other library's metrics (torcheval, ignite.metrics,
keras.metrics).

Rules:

* labels are int64 tensors of shape (N,) with values in [0, num_classes);
* return tensors on the labels' device; the confusion matrix is int64, the
  scores are 0-d float64 tensors (not Python floats);
* never modify the inputs in place.

Check your work with::

    grade check -a metrics
"""

import torch


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Confusion matrix C[i, j] = number of samples with true class i predicted as j.

    Args:
        y_true: true labels, shape (N,), int64 in [0, num_classes).  # (N,)
        y_pred: predicted labels, shape (N,), int64 in [0, num_classes).  # (N,)
        num_classes: the number of classes C (classes may be absent from both).

    Returns:
        int64 tensor of shape (C, C): rows = true class, columns = predicted class.

    Banned: sklearn, torchmetrics.

    Tip: row i is "what happened to the samples of class i"; its diagonal entry
    is the true positives of class i.
    """
    raise NotImplementedError


def precision_recall_f1(
    y_true: torch.Tensor,
    y_pred: torch.Tensor,
    num_classes: int,
    average: str = "macro",
    pos_label: int = 1,
    zero_division: float = 0.0,
):
    """Precision, recall and F1, averaged like sklearn.

    Per class k, with tp = C[k, k], fp = column k minus tp, fn = row k minus tp:

    * precision = tp / (tp + fp), recall = tp / (tp + fn),
      F1 = 2 tp / (2 tp + fp + fn)  (the harmonic mean of P and R);
    * a 0/0 gives ``zero_division`` (0.0, 1.0 or float("nan")) instead.

    ``average``:

    * "binary": only class ``pos_label`` is scored (num_classes == 2 only);
    * "micro": sum tp, fp and fn over all classes first, then divide;
    * "macro": the unweighted mean of the per-class scores;
    * "weighted": the mean weighted by each class's support (tp + fn).

    As in sklearn, averages skip NaN entries (they are NaN only when every
    entry is NaN; if the weights of the remaining entries sum to 0, their
    plain mean is used).

    Args:
        y_true: true labels, shape (N,), int64.  # (N,)
        y_pred: predicted labels, shape (N,), int64.  # (N,)
        num_classes: the number of classes C.
        average: "binary", "micro", "macro" or "weighted".
        pos_label: the positive class for average="binary" (ignored otherwise).
        zero_division: the value of a score whose denominator is 0.

    Returns:
        Tuple (precision, recall, f1) of 0-d float64 tensors.

    Banned: sklearn, torchmetrics.

    Tip: precision asks "of what I predicted as k, how much was k?" (column
    sums); recall asks "of the real k, how much did I find?" (row sums).
    """
    raise NotImplementedError
