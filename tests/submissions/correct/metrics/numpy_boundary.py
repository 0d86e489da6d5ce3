"""Correct metrics in numpy (the way one writes sklearn-like code without sklearn), converting at the
boundary; zero_division handled with np.errstate and np.where, NaN-aware averages with np.nanmean."""
import numpy as np
import torch


def confusion_matrix(y_true, y_pred, num_classes):
    t = y_true.detach().cpu().numpy()
    p = y_pred.detach().cpu().numpy()
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return torch.from_numpy(cm).to(y_true.device)


def _divide(num, den, zero_division):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den == 0, zero_division, num / np.where(den == 0, 1, den))


def _average(values, weights):
    keep = ~np.isnan(values)
    if not keep.any():
        return np.nan
    v, w = values[keep], weights[keep]
    if w.sum() == 0:
        return float(np.mean(v))
    return float(np.sum(v * w) / np.sum(w))


def precision_recall_f1(y_true, y_pred, num_classes, average="macro", pos_label=1, zero_division=0.0):
    cm = confusion_matrix(y_true, y_pred, num_classes).cpu().numpy().astype(np.float64)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    if average == "binary":
        sel = [pos_label]
        tp, fp, fn = tp[sel], fp[sel], fn[sel]
    elif average == "micro":
        tp, fp, fn = np.array([tp.sum()]), np.array([fp.sum()]), np.array([fn.sum()])
    precision = _divide(tp, tp + fp, zero_division)
    recall = _divide(tp, tp + fn, zero_division)
    f1 = _divide(2 * tp, 2 * tp + fp + fn, zero_division)
    weights = (tp + fn) if average == "weighted" else np.ones_like(tp)
    return tuple(torch.tensor(_average(v, weights), dtype=torch.float64, device=y_true.device)
                 for v in (precision, recall, f1))
