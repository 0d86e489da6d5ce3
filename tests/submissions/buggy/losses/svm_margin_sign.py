"""Student-style losses with one deliberate mistake: svm_margin_sign.
"""
import torch


def svm_loss(scores, targets, margin=1.0):
    N, C = scores.shape
    loss = torch.zeros((), dtype=scores.dtype, device=scores.device)
    for i in range(N):
        y = int(targets[i])
        for j in range(C):
            if j == y:
                continue
            m = scores[i, j] - (scores[i, y] + margin)
            if m > 0:
                loss = loss + m
    return loss / N


def svm_loss_grad(scores, targets, margin=1.0):
    N, C = scores.shape
    dS = torch.zeros_like(scores)
    for i in range(N):
        y = int(targets[i])
        for j in range(C):
            if j == y:
                continue
            if scores[i, j] - scores[i, y] + margin > 0:
                dS[i, j] += 1
                dS[i, y] -= 1
    return dS / N


def binary_cross_entropy_with_logits(logits, targets):
    z = logits.reshape(-1)
    t = targets.reshape(-1)
    total = torch.zeros((), dtype=logits.dtype, device=logits.device)
    for i in range(z.numel()):
        if z[i] >= 0:
            # -log sigma(z) = log(1 + e^-z);  -log(1 - sigma(z)) = z + log(1 + e^-z)
            total = total + (1 - t[i]) * z[i] + torch.log1p(torch.exp(-z[i]))
        else:
            # -log sigma(z) = -z + log(1 + e^z);  -log(1 - sigma(z)) = log(1 + e^z)
            total = total - t[i] * z[i] + torch.log1p(torch.exp(z[i]))
    return total / z.numel()


def binary_cross_entropy_with_logits_grad(logits, targets):
    z = logits.reshape(-1)
    t = targets.reshape(-1)
    g = torch.empty_like(z)
    for i in range(z.numel()):
        if z[i] >= 0:
            s = 1 / (1 + torch.exp(-z[i]))
        else:
            s = torch.exp(z[i]) / (1 + torch.exp(z[i]))
        g[i] = (s - t[i]) / z.numel()
    return g.reshape(logits.shape)
