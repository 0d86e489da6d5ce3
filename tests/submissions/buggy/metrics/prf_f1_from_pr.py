"""Student-style metrics with one deliberate mistake: prf_f1_from_pr.

F1 is computed as 2PR / (P + R) from the zero_division-patched precision and
recall (and zero_division when P + R = 0), instead of 2tp / (2tp + fp + fn).
Every other part (NaN-aware averaging included) is correct.
"""

import math

import torch


def confusion_matrix(y_true, y_pred, num_classes):
    cm = torch.zeros((num_classes, num_classes), dtype=torch.int64)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        cm[t][p] += 1
    return cm


def _avg(values, weights):
    pairs = [(v, w) for v, w in zip(values, weights) if not math.isnan(v)]
    if not pairs:
        return float("nan")
    total = sum(w for _, w in pairs)
    if total == 0:
        return sum(v for v, _ in pairs) / len(pairs)
    return sum(v * w for v, w in pairs) / total


def precision_recall_f1(y_true, y_pred, num_classes, average="macro", pos_label=1, zero_division=0.0):
    cm = confusion_matrix(y_true, y_pred, num_classes).tolist()
    C = num_classes
    tp = [cm[k][k] for k in range(C)]
    predicted = [sum(cm[i][k] for i in range(C)) for k in range(C)]
    actual = [sum(cm[k]) for k in range(C)]
    if average == "binary":
        tp, predicted, actual = [tp[pos_label]], [predicted[pos_label]], [actual[pos_label]]
    elif average == "micro":
        tp, predicted, actual = [sum(tp)], [sum(predicted)], [sum(actual)]
    zd = float(zero_division)
    prec = [t / s if s else zd for t, s in zip(tp, predicted)]
    rec = [t / s if s else zd for t, s in zip(tp, actual)]
    f1 = [2 * p * r / (p + r) if (p + r) != 0 else zd for p, r in zip(prec, rec)]
    weights = [float(a) for a in actual] if average == "weighted" else [1.0] * len(prec)
    as_t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    return as_t(_avg(prec, weights)), as_t(_avg(rec, weights)), as_t(_avg(f1, weights))
