"""Correct metrics: plain Python counting and arithmetic, tensors only at the end."""

import math

import torch


def confusion_matrix(y_true, y_pred, num_classes):
    rows = [[0] * num_classes for _ in range(num_classes)]
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        rows[t][p] += 1
    return torch.tensor(rows, dtype=torch.int64, device=y_true.device)


def precision_recall_f1(y_true, y_pred, num_classes, average="macro", pos_label=1, zero_division=0.0):
    cm = confusion_matrix(y_true, y_pred, num_classes).tolist()
    classes = range(num_classes)
    stats = []  # (tp, predicted, actual) per class
    for k in classes:
        tp = cm[k][k]
        predicted = sum(cm[i][k] for i in classes)
        actual = sum(cm[k])
        stats.append((tp, predicted, actual))
    if average == "binary":
        stats = [stats[pos_label]]
    elif average == "micro":
        stats = [tuple(sum(s[i] for s in stats) for i in range(3))]

    def div(a, b):
        return a / b if b else float(zero_division)

    scores = [(div(tp, pr), div(tp, ac), div(2 * tp, pr + ac), ac) for tp, pr, ac in stats]

    def avg(j):
        vals = [(s[j], s[3]) for s in scores if not math.isnan(s[j])]
        if not vals:
            return math.nan
        if average == "weighted" and sum(w for _, w in vals) > 0:
            return sum(v * w for v, w in vals) / sum(w for _, w in vals)
        return sum(v for v, _ in vals) / len(vals)

    dev = y_true.device
    return tuple(torch.tensor(avg(j), dtype=torch.float64, device=dev) for j in range(3))
