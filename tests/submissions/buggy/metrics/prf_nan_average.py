"""Student-style metrics with one deliberate mistake: prf_nan_average.

zero_division is honoured (0/0 becomes zero_division, F1 = 2tp / (2tp + fp + fn)),
but the averages use a plain mean, so with zero_division=NaN one NaN class makes
the whole score NaN.  Every other function is correct.
"""

import torch


def confusion_matrix(y_true, y_pred, num_classes):
    idx = y_true * num_classes + y_pred
    return torch.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _safe_div(num, den, zero_division):
    out = torch.full_like(num, float(zero_division))
    ok = den != 0
    out[ok] = num[ok] / den[ok]
    return out


def precision_recall_f1(y_true, y_pred, num_classes, average="macro", pos_label=1, zero_division=0.0):
    cm = confusion_matrix(y_true, y_pred, num_classes).to(torch.float64)
    tp = torch.diagonal(cm)
    fp = cm.sum(dim=0) - tp
    fn = cm.sum(dim=1) - tp
    support = cm.sum(dim=1)
    if average == "binary":
        k = pos_label
        tp, fp, fn, support = tp[k:k + 1], fp[k:k + 1], fn[k:k + 1], support[k:k + 1]
    elif average == "micro":
        tp, fp, fn, support = tp.sum(0, True), fp.sum(0, True), fn.sum(0, True), support.sum(0, True)
    p = _safe_div(tp, tp + fp, zero_division)
    r = _safe_div(tp, tp + fn, zero_division)
    f1 = _safe_div(2 * tp, 2 * tp + fp + fn, zero_division)
    if average == "weighted":
        if support.sum() == 0:
            return p.mean(), r.mean(), f1.mean()
        w = support / support.sum()
        return (p * w).sum(), (r * w).sum(), (f1 * w).sum()
    return p.mean(), r.mean(), f1.mean()
