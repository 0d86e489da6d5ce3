"""Student-style NLP functions with one deliberate mistake: tfidf_not_normalised.

Rows are not L2-normalised.
"""

import math
from collections import Counter

import torch


def _neg_log_sigmoid(x):
    # -log sigmoid(x) = log(1 + exp(-x)), written so that exp never overflows
    return torch.clamp(-x, min=0) + torch.log1p(torch.exp(-torch.abs(x)))


def skipgram_negative_sampling_loss(center, context, negatives):
    N = center.shape[0]
    pos_score = (center * context).sum(dim=1)  # (N,)
    neg_score = torch.bmm(negatives, center.unsqueeze(2)).squeeze(2)  # (N, K)
    loss = (_neg_log_sigmoid(pos_score).sum() + _neg_log_sigmoid(-neg_score).sum()) / N
    d_pos = (torch.exp(-_neg_log_sigmoid(pos_score)) - 1) / N  # sigmoid(s) - 1
    d_neg = torch.exp(-_neg_log_sigmoid(neg_score)) / N  # sigmoid(s_k)
    grads = {
        "center": d_pos[:, None] * context + (d_neg[:, :, None] * negatives).sum(dim=1),
        "context": d_pos[:, None] * center,
        "negatives": d_neg[:, :, None] * center[:, None, :],
    }
    return loss, grads


def perplexity(logits, targets, ignore_index=-100):
    mask = targets != ignore_index
    safe_targets = targets.masked_fill(~mask, 0)
    shifted = logits - logits.max(dim=2, keepdim=True).values
    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=2, keepdim=True))
    token_nll = -log_probs.gather(2, safe_targets.unsqueeze(2)).squeeze(2)
    token_nll = token_nll * mask
    return torch.exp(token_nll.sum() / mask.sum())


def get_ngrams(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(candidates, references, max_n=4):
    numerators = [0] * max_n
    denominators = [0] * max_n
    cand_len, ref_len = 0, 0
    for cand, refs in zip(candidates, references):
        cand_len += len(cand)
        ref_len += min((len(r) for r in refs), key=lambda L: (abs(L - len(cand)), L))
        for n in range(1, max_n + 1):
            cand_ngrams = get_ngrams(cand, n)
            max_ref = Counter()
            for ref in refs:
                for g, k in get_ngrams(ref, n).items():
                    max_ref[g] = max(max_ref[g], k)
            numerators[n - 1] += sum(min(k, max_ref[g]) for g, k in cand_ngrams.items())
            denominators[n - 1] += max(1, sum(cand_ngrams.values()))
    if 0 in numerators:
        return torch.tensor(0.0, dtype=torch.float64)
    log_avg = sum(math.log(p / q) for p, q in zip(numerators, denominators)) / max_n
    bp = 1.0 if cand_len > ref_len else math.exp(1 - ref_len / cand_len)
    return torch.tensor(bp * math.exp(log_avg), dtype=torch.float64)


def tf_idf(documents):
    vocabulary = sorted({tok for doc in documents for tok in doc})
    index = {tok: j for j, tok in enumerate(vocabulary)}
    D = len(documents)
    tf = torch.zeros(D, len(vocabulary), dtype=torch.float64)
    for i, doc in enumerate(documents):
        for tok in doc:
            tf[i, index[tok]] += 1
    df = (tf > 0).sum(dim=0).double()
    idf = torch.log((1 + D) / (1 + df)) + 1
    weights = tf * idf
    pass
    return weights, vocabulary
