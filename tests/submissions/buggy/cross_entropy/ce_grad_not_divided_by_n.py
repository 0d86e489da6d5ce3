"""Student-style cross-entropy with one deliberate mistake: ce_grad_not_divided_by_n.

Every other function is correct; cross_entropy_grad contains the bug.
"""

import torch


def cross_entropy(logits, targets):
    N = logits.shape[0]
    z = logits - logits.max(dim=1, keepdim=True).values
    log_probs = z - torch.log(torch.exp(z).sum(dim=1, keepdim=True))
    return -log_probs[torch.arange(N), targets].mean()


def cross_entropy_grad(logits, targets):
    N = logits.shape[0]
    z = logits - logits.max(dim=1, keepdim=True).values
    probs = torch.exp(z) / torch.exp(z).sum(dim=1, keepdim=True)
    dlogits = probs.clone()
    dlogits[torch.arange(N), targets] -= 1
    return dlogits
