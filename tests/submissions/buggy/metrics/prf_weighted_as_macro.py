"""Student-style metrics with one deliberate mistake: prf_weighted_as_macro.

Every other function is correct; precision_recall_f1 contains the bug.
"""

import torch


def confusion_matrix(y_true, y_pred, num_classes):
    cm = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=y_true.device)
    for t, p in zip(y_true, y_pred):
        cm[t, p] += 1
    return cm


def precision_recall_f1(y_true, y_pred, num_classes, average="macro", pos_label=1, zero_division=0.0):
    cm = torch.zeros(num_classes, num_classes, dtype=torch.float64, device=y_true.device)
    for t, p in zip(y_true, y_pred):
        cm[t, p] += 1
    tp = torch.diag(cm)
    pred_count = cm.sum(dim=0)
    true_count = cm.sum(dim=1)
    if average == "binary":
        k = pos_label
        tp, pred_count, true_count = tp[k:k + 1], pred_count[k:k + 1], true_count[k:k + 1]
    if average == "micro":
        tp, pred_count, true_count = tp.sum(0, True), pred_count.sum(0, True), true_count.sum(0, True)

    def divide(a, b):
        return torch.where(b > 0, a / torch.clamp(b, min=1), torch.full_like(a, zero_division))

    precision = divide(tp, pred_count)
    recall = divide(tp, true_count)
    f1 = divide(2 * tp, pred_count + true_count)

    def avg(v):
        keep = ~torch.isnan(v)
        if keep.sum() == 0:
            return torch.tensor(float("nan"), dtype=torch.float64, device=v.device)
        return v[keep].mean()

    return avg(precision), avg(recall), avg(f1)
