"""Correct metrics: bincount confusion matrix, vectorized scores with nanmean-style averages."""

import torch


def confusion_matrix(y_true, y_pred, num_classes):
    idx = y_true * num_classes + y_pred
    counts = torch.bincount(idx, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).to(torch.int64)


def _safe_div(num, den, zero_division):
    out = num / torch.where(den == 0, torch.ones_like(den), den)
    return torch.where(den == 0, torch.full_like(out, zero_division), out)


def _average(v, w):
    ok = ~torch.isnan(v)
    if not ok.any():
        return torch.tensor(float("nan"), dtype=torch.float64, device=v.device)
    if w is None or w[ok].sum() == 0:
        return v[ok].mean()
    return (v[ok] * w[ok]).sum() / w[ok].sum()


def precision_recall_f1(y_true, y_pred, num_classes, average="macro", pos_label=1, zero_division=0.0):
    cm = confusion_matrix(y_true, y_pred, num_classes).double()
    tp = cm.diag()
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    if average == "binary":
        tp, fp, fn = tp[[pos_label]], fp[[pos_label]], fn[[pos_label]]
    elif average == "micro":
        tp, fp, fn = tp.sum().reshape(1), fp.sum().reshape(1), fn.sum().reshape(1)
    p = _safe_div(tp, tp + fp, zero_division)
    r = _safe_div(tp, tp + fn, zero_division)
    f = _safe_div(2 * tp, 2 * tp + fp + fn, zero_division)
    w = tp + fn if average == "weighted" else None
    return _average(p, w), _average(r, w), _average(f, w)
