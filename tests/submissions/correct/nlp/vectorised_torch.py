"""Correct NLP functions, vectorised torch: einsum + logaddexp for word2vec, logsumexp for perplexity,
Counter-based BLEU, TF-IDF built as tensors with an epsilon-guarded normalisation."""
import math
from collections import Counter

import torch


def skipgram_negative_sampling_loss(center, context, negatives):
    N = center.shape[0]
    pos = torch.einsum("nd,nd->n", context, center)
    neg = torch.einsum("nkd,nd->nk", negatives, center)
    # -log sigmoid(x) = log(1 + exp(-x)) = logaddexp(0, -x)
    zero = torch.zeros((), dtype=center.dtype, device=center.device)
    loss = (torch.logaddexp(zero, -pos).sum() + torch.logaddexp(zero, neg).sum()) / N
    g_pos = -torch.exp(-torch.logaddexp(zero, pos)) / N  # -(1 - sigmoid(pos)) = -sigmoid(-pos)
    g_neg = torch.exp(-torch.logaddexp(zero, -neg)) / N  # sigmoid(neg)
    grads = {
        "center": g_pos[:, None] * context + torch.einsum("nk,nkd->nd", g_neg, negatives),
        "context": g_pos[:, None] * center,
        "negatives": torch.einsum("nk,nd->nkd", g_neg, center),
    }
    return loss, grads


def perplexity(logits, targets, ignore_index=-100):
    V = logits.shape[-1]
    flat_logits = logits.reshape(-1, V)
    flat_targets = targets.reshape(-1)
    valid = flat_targets != ignore_index
    lp = flat_logits[valid] - torch.logsumexp(flat_logits[valid], dim=-1, keepdim=True)
    nll = -lp[torch.arange(lp.shape[0], device=lp.device), flat_targets[valid]]
    return torch.exp(nll.mean())


def _ngram_counts(seq, n):
    return Counter(zip(*[seq[i:] for i in range(n)]))


def corpus_bleu(candidates, references, max_n=4):
    p_num = [0] * max_n
    p_den = [0] * max_n
    hyp_len = 0
    ref_len = 0
    for hyp, refs in zip(candidates, references):
        hyp_len += len(hyp)
        ref_len += sorted((abs(len(r) - len(hyp)), len(r)) for r in refs)[0][1]
        for n in range(1, max_n + 1):
            hyp_counts = _ngram_counts(hyp, n)
            max_ref_counts = Counter()
            for r in refs:
                for gram, cnt in _ngram_counts(r, n).items():
                    max_ref_counts[gram] = max(max_ref_counts[gram], cnt)
            p_num[n - 1] += sum(min(cnt, max_ref_counts[gram]) for gram, cnt in hyp_counts.items())
            p_den[n - 1] += max(1, sum(hyp_counts.values()))
    if min(p_num) == 0:
        return torch.tensor(0.0, dtype=torch.float64)
    log_precision = sum(math.log(num / den) for num, den in zip(p_num, p_den)) / max_n
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return torch.tensor(bp * math.exp(log_precision), dtype=torch.float64)


def tf_idf(documents):
    vocab = sorted(set(tok for doc in documents for tok in doc))
    col = {tok: j for j, tok in enumerate(vocab)}
    tf = torch.zeros(len(documents), len(vocab), dtype=torch.float64)
    for i, doc in enumerate(documents):
        for tok in doc:
            tf[i, col[tok]] += 1
    n_docs = tf.shape[0]
    df = (tf > 0).double().sum(dim=0)
    idf = torch.log((1.0 + n_docs) / (1.0 + df)) + 1.0
    x = tf * idf
    x = x / (x.norm(dim=1, keepdim=True) + 1e-12)  # empty documents stay 0
    return x, vocab
