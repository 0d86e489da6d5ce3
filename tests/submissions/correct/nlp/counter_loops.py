"""Correct NLP functions, explicit loops: per-example word2vec with a hand-written stable log-sigmoid,
per-token perplexity loop, pure-Python Counter counting for BLEU and TF-IDF."""
import math
from collections import Counter

import torch


def log_sigmoid(x):
    # log(1 / (1 + e^-x)), never exponentiating a large positive number
    return torch.where(x >= 0, -torch.log1p(torch.exp(-x)), x - torch.log1p(torch.exp(x)))


def sigmoid(x):
    return torch.exp(log_sigmoid(x))


def skipgram_negative_sampling_loss(center, context, negatives):
    N, K, D = negatives.shape
    total = torch.zeros((), dtype=center.dtype, device=center.device)
    d_center = torch.zeros_like(center)
    d_context = torch.zeros_like(context)
    d_negatives = torch.zeros_like(negatives)
    for n in range(N):
        v = center[n]
        s = torch.dot(context[n], v)
        total = total - log_sigmoid(s)
        g = sigmoid(s) - 1
        d_context[n] = g * v
        d_center[n] = g * context[n]
        for k in range(K):
            sk = torch.dot(negatives[n, k], v)
            total = total - log_sigmoid(-sk)
            gk = sigmoid(sk)
            d_negatives[n, k] = gk * v
            d_center[n] = d_center[n] + gk * negatives[n, k]
    return total / N, {"center": d_center / N, "context": d_context / N, "negatives": d_negatives / N}


def perplexity(logits, targets, ignore_index=-100):
    N, T, V = logits.shape
    nll_sum = torch.zeros((), dtype=logits.dtype, device=logits.device)
    count = 0
    for n in range(N):
        for t in range(T):
            y = int(targets[n, t])
            if y == ignore_index:
                continue
            z = logits[n, t]
            m = z.max()
            nll_sum = nll_sum + (m + torch.log(torch.exp(z - m).sum()) - z[y])
            count += 1
    return torch.exp(nll_sum / count)


def ngrams(tokens, n):
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def corpus_bleu(candidates, references, max_n=4):
    matches = Counter()
    possible = Counter()
    c = 0
    r = 0
    for cand, refs in zip(candidates, references):
        c += len(cand)
        best = None
        for ref in refs:
            diff = abs(len(ref) - len(cand))
            if best is None or diff < best[0] or (diff == best[0] and len(ref) < best[1]):
                best = (diff, len(ref))
        r += best[1]
        for n in range(1, max_n + 1):
            cand_counts = Counter(ngrams(cand, n))
            clip = Counter()
            for ref in refs:
                clip = clip | Counter(ngrams(ref, n))
            matches[n] += sum((cand_counts & clip).values())
            possible[n] += max(1, len(cand) - n + 1)
    precisions = [matches[n] / possible[n] for n in range(1, max_n + 1)]
    if 0 in precisions:
        return torch.tensor(0.0, dtype=torch.float64)
    geo_mean = math.exp(sum(math.log(p) for p in precisions) / max_n)
    if c > r:
        bp = 1.0
    else:
        bp = math.exp(1 - r / c)
    return torch.tensor(bp * geo_mean, dtype=torch.float64)


def tf_idf(documents):
    D = len(documents)
    df = Counter()
    for doc in documents:
        df.update(set(doc))
    vocabulary = sorted(df)
    idf = {w: math.log((1 + D) / (1 + df[w])) + 1 for w in vocabulary}
    rows = []
    for doc in documents:
        tf = Counter(doc)
        row = [tf[w] * idf[w] for w in vocabulary]
        norm = math.sqrt(sum(v * v for v in row))
        if norm > 0:
            row = [v / norm for v in row]
        rows.append(row)
    matrix = torch.tensor(rows, dtype=torch.float64).reshape(D, len(vocabulary))
    return matrix, vocabulary
