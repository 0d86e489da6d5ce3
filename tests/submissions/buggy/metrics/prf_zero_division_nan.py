"""Student-style metrics with one deliberate mistake: prf_zero_division_nan.

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
    fp = cm.sum(dim=0) - tp
    fn = cm.sum(dim=1) - tp
    if average == "binary":
        tp, fp, fn = tp[pos_label:pos_label + 1], fp[pos_label:pos_label + 1], fn[pos_label:pos_label + 1]
    if average == "micro":
        tp, fp, fn = tp.sum(0, keepdim=True), fp.sum(0, keepdim=True), fn.sum(0, keepdim=True)
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    f1 = 2 * precision * recall / (precision + recall)
    if average == "weighted":
        w = (tp + fn) / (tp + fn).sum()
        return (precision * w).sum(), (recall * w).sum(), (f1 * w).sum()
    return precision.mean(), recall.mean(), f1.mean()
