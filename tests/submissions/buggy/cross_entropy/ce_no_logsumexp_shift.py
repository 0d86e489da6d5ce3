"""Student-style cross-entropy with one deliberate mistake: ce_no_logsumexp_shift.

Every other function is correct; cross_entropy contains the bug.
"""

import torch


def cross_entropy(logits, targets):
    N = logits.shape[0]
    log_probs = logits - torch.log(torch.exp(logits).sum(dim=1, keepdim=True))
    return -log_probs[torch.arange(N), targets].mean()


def cross_entropy_grad(logits, targets):
    N = logits.shape[0]
    z = logits - logits.max(dim=1, keepdim=True).values
    probs = torch.exp(z) / torch.exp(z).sum(dim=1, keepdim=True)
    dlogits = probs.clone()
    dlogits[torch.arange(N), targets] -= 1
    return dlogits / N
