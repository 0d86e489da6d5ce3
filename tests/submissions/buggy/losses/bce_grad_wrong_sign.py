"""Student-style losses with one deliberate mistake: bce_grad_wrong_sign.
"""
import torch


def svm_loss(scores, targets, margin=1.0):
    N = scores.shape[0]
    correct = scores[torch.arange(N), targets].unsqueeze(1)
    margins = torch.clamp(scores - correct + margin, min=0)
    margins[torch.arange(N), targets] = 0
    return margins.sum() / N


def svm_loss_grad(scores, targets, margin=1.0):
    N = scores.shape[0]
    correct = scores[torch.arange(N), targets].unsqueeze(1)
    margins = scores - correct + margin
    margins[torch.arange(N), targets] = 0
    binary = (margins > 0).to(scores.dtype)
    binary[torch.arange(N), targets] = -binary.sum(dim=1)
    return binary / N


def _softplus(z):
    # log(1 + e^z) without overflow
    return torch.where(z > 0, z + torch.log1p(torch.exp(-z)), torch.log1p(torch.exp(z)))


def binary_cross_entropy_with_logits(logits, targets):
    # -[t log s + (1 - t) log(1 - s)] = softplus(z) - t z
    return (_softplus(logits) - targets * logits).mean()


def binary_cross_entropy_with_logits_grad(logits, targets):
    e = torch.exp(-torch.abs(logits))
    sig = torch.where(logits >= 0, 1 / (1 + e), e / (1 + e))
    return (targets - sig) / logits.numel()
