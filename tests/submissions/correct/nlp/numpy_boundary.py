"""Correct NLP functions in numpy: tensors converted at the boundary (dtype and device kept),
np.logaddexp for log-sigmoid, numpy log-softmax, dict-of-strings n-grams for BLEU, numpy TF-IDF."""
import math

import numpy as np
import torch


def _np(t):
    return t.detach().cpu().numpy()


def _back(a, like):
    return torch.from_numpy(np.array(a)).to(like)  # np.array copies (contiguous) and keeps 0-d


def skipgram_negative_sampling_loss(center, context, negatives):
    v, u_o, u_k = _np(center), _np(context), _np(negatives)
    N = v.shape[0]
    s_o = np.sum(u_o * v, axis=1)  # (N,)
    s_k = np.einsum("nkd,nd->nk", u_k, v)  # (N, K)
    loss = (np.logaddexp(0, -s_o).sum() + np.logaddexp(0, s_k).sum()) / N
    sig_o = np.exp(-np.logaddexp(0, -s_o))
    sig_k = np.exp(-np.logaddexp(0, -s_k))
    g_o = (sig_o - 1) / N
    g_k = sig_k / N
    grads = {
        "center": _back(g_o[:, None] * u_o + np.einsum("nk,nkd->nd", g_k, u_k), center),
        "context": _back(g_o[:, None] * v, center),
        "negatives": _back(g_k[:, :, None] * v[:, None, :], center),
    }
    return _back(np.asarray(loss, dtype=v.dtype), center), grads


def perplexity(logits, targets, ignore_index=-100):
    z = _np(logits)
    y = _np(targets)
    mask = y != ignore_index
    z = z[mask]  # (M, V)
    y = y[mask]
    z = z - z.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    nll = -log_probs[np.arange(len(y)), y]
    return _back(np.asarray(np.exp(nll.mean()), dtype=z.dtype), logits)


def _count_ngrams(words, n):
    counts = {}
    for i in range(len(words) - n + 1):
        key = " ".join(words[i:i + n])
        counts[key] = counts.get(key, 0) + 1
    return counts


def corpus_bleu(candidates, references, max_n=4):
    clipped = np.zeros(max_n)
    total = np.zeros(max_n)
    c = r = 0
    for cand, refs in zip(candidates, references):
        c += len(cand)
        ref_lens = np.array([len(x) for x in refs])
        closest = ref_lens[np.lexsort((ref_lens, np.abs(ref_lens - len(cand))))[0]]
        r += int(closest)
        for n in range(1, max_n + 1):
            cc = _count_ngrams(cand, n)
            ref_counts = [_count_ngrams(x, n) for x in refs]
            for gram, k in cc.items():
                clipped[n - 1] += min(k, max(rc.get(gram, 0) for rc in ref_counts))
            total[n - 1] += max(1, sum(cc.values()))
    if np.any(clipped == 0):
        return torch.tensor(0.0, dtype=torch.float64)
    score = math.exp(float(np.mean(np.log(clipped / total))))
    if c <= r:
        score *= math.exp(1 - r / c)
    return torch.tensor(score, dtype=torch.float64)


def tf_idf(documents):
    vocab = sorted({w for d in documents for w in d})
    idx = {w: i for i, w in enumerate(vocab)}
    tf = np.zeros((len(documents), len(vocab)))
    for i, d in enumerate(documents):
        for w in d:
            tf[i, idx[w]] += 1
    df = np.count_nonzero(tf, axis=0)
    idf = np.log((1 + len(documents)) / (1 + df)) + 1
    x = tf * idf
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return torch.from_numpy(x / norms), vocab
