"""Correct cross-entropy in numpy (CS231n style), converting at the boundary: tensors in, numpy inside,
tensors of the input's dtype and device out."""
import numpy as np
import torch


def _to_numpy(t):
    return t.detach().cpu().numpy()


def _back(a, like):
    return torch.as_tensor(np.asarray(a)).to(dtype=like.dtype, device=like.device)


def cross_entropy(logits, targets):
    scores = _to_numpy(logits)
    y = _to_numpy(targets)
    N = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    return _back(np.asarray(loss, dtype=scores.dtype), logits)


def cross_entropy_grad(logits, targets):
    scores = _to_numpy(logits)
    y = _to_numpy(targets)
    N = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= np.sum(probs, axis=1, keepdims=True)
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    dscores /= N
    return _back(dscores, logits)
