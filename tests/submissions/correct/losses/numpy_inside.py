"""Correct losses computed in numpy (np.logaddexp, a tanh sigmoid), converted at the boundary."""
import numpy as np
import torch


def _np(t):
    return t.detach().cpu().numpy()


def _back(a, like):
    return torch.from_numpy(np.array(a)).to(like)  # np.array keeps 0-d arrays 0-d


def svm_loss(scores, targets, margin=1.0):
    s, y = _np(scores), _np(targets)
    N = s.shape[0]
    correct = s[np.arange(N), y][:, None]
    margins = np.maximum(0, s - correct + margin)
    margins[np.arange(N), y] = 0
    return _back(np.asarray(margins.sum() / N, dtype=s.dtype), scores)


def svm_loss_grad(scores, targets, margin=1.0):
    s, y = _np(scores), _np(targets)
    N = s.shape[0]
    correct = s[np.arange(N), y][:, None]
    active = (s - correct + margin > 0)
    active[np.arange(N), y] = False
    d = active.astype(s.dtype)
    d[np.arange(N), y] = -active.sum(axis=1)
    return _back(d / N, scores)


def binary_cross_entropy_with_logits(logits, targets):
    z, t = _np(logits), _np(targets)
    # -t log sigma(z) - (1 - t) log(1 - sigma(z)) = log(1 + e^z) - t z
    per = np.logaddexp(0, z) - t * z
    return _back(np.asarray(per.mean(), dtype=z.dtype), logits)


def binary_cross_entropy_with_logits_grad(logits, targets):
    z, t = _np(logits), _np(targets)
    sig = 0.5 * (1 + np.tanh(0.5 * z))  # the logistic function, stable for any z
    return _back((sig - t) / z.size, logits)
