"""Reference implementation of the ``nlp`` assignment.

Formulas and sources:

* Skip-gram with negative sampling (Mikolov et al., 2013, "Distributed
  Representations of Words and Phrases and their Compositionality", eq. 4;
  gradients as in CS224n assignment 2): with s_o = u_o·v_c and s_k = u_k·v_c,

      loss = mean_n [ −log σ(s_o) − Σ_k log σ(−s_k) ]
      −log σ(s) = softplus(−s) = max(−s, 0) + log1p(exp(−|s|))   (never overflows)
      ∂loss/∂s_o = (σ(s_o) − 1)/N,  ∂loss/∂s_k = σ(s_k)/N
      ∂/∂v_c = ∂s_o u_o + Σ_k ∂s_k u_k,  ∂/∂u_o = ∂s_o v_c,  ∂/∂u_k = ∂s_k v_c

* Perplexity (Jurafsky & Martin, *Speech and Language Processing*, 3rd ed.,
  section 3.2.1): exp of the mean token negative log-likelihood, the mean
  taken over the positions whose target is not ``ignore_index`` (as
  ``torch.nn.functional.cross_entropy(..., ignore_index=...)``); the
  log-softmax by log-sum-exp with the max subtracted.

* Corpus BLEU (Papineni et al., 2002, sections 2.1–2.3), exactly as
  ``nltk.translate.bleu_score.corpus_bleu`` without smoothing: per order n,
  clipped n-gram matches and candidate n-gram counts are summed over the
  corpus (a candidate with fewer than n tokens counts 1 in the denominator,
  nltk's ``max(1, ...)``); BLEU = BP · exp(Σ_n log(p_n) / max_n); BP = 1
  when c > r, else exp(1 − r/c) (0 when c = 0), with c the total candidate
  length and r the sum of each candidate's closest reference length (ties:
  the shorter).  BLEU is 0 when any p_n is 0.  (nltk returns exactly 0 only
  when there is no unigram match; for a zero higher-order precision it
  substitutes ``sys.float_info.min`` and returns a tiny positive number, at
  most ``sys.float_info.min ** (1/max_n)``: 1.2e-77 for max_n = 4.)

* TF-IDF as scikit-learn's ``TfidfVectorizer`` defaults (scikit-learn user
  guide, section 6.2.3.4, "Tf–idf term weighting"): tf = raw counts,
  idf = ln((1 + D)/(1 + df)) + 1, each row divided by its L2 norm (a zero
  row stays zero); vocabulary sorted.

Hand-written: no ``torch.nn`` (functional or modules), no
``torch.logsigmoid``, no nltk, scikit-learn, gensim, torchtext,
torchmetrics or sacrebleu, no autograd.
"""

from __future__ import annotations

import math
from collections import Counter

import torch

__all__ = ["skipgram_negative_sampling_loss", "perplexity", "corpus_bleu", "tf_idf"]


def _softplus(s: torch.Tensor) -> torch.Tensor:
    """log(1 + e^s), stable for any magnitude: max(s, 0) + log1p(e^-|s|)."""
    return torch.clamp(s, min=0) + torch.log1p(torch.exp(-s.abs()))


def _sigmoid(s: torch.Tensor) -> torch.Tensor:
    """1 / (1 + e^-s) through z = e^-|s| in (0, 1] (no overflow)."""
    z = torch.exp(-s.abs())
    return torch.where(s >= 0, 1 / (1 + z), z / (1 + z))


def skipgram_negative_sampling_loss(center, context, negatives):
    """Skip-gram negative-sampling loss and its gradients.

    Args:
        center: (N, D) input ("center") vectors v_c, float32/float64.
        context: (N, D) output vectors u_o of the true context words.
        negatives: (N, K, D) output vectors u_k of the K negative samples.

    Returns:
        (loss, grads): loss 0-d, the mean over n of
        −log σ(u_o·v_c) − Σ_k log σ(−u_k·v_c); grads a dict with keys
        ``"center"`` (N, D), ``"context"`` (N, D), ``"negatives"`` (N, K, D).
        Dtype and device of ``center``.  Finite and exact for dot products up
        to 1e4 in magnitude.
    """
    N = center.shape[0]
    s_o = (context * center).sum(dim=-1)  # (N,) u_o . v_c
    s_k = (negatives * center.unsqueeze(1)).sum(dim=-1)  # (N, K) u_k . v_c
    loss = (_softplus(-s_o) + _softplus(s_k).sum(dim=-1)).sum() / N  # 0-d
    d_so = (_sigmoid(s_o) - 1) / N  # (N,) dloss/ds_o = -sigma(-s_o) / N
    d_sk = _sigmoid(s_k) / N  # (N, K) dloss/ds_k
    grads = {
        "center": d_so.unsqueeze(1) * context + (d_sk.unsqueeze(2) * negatives).sum(dim=1),  # (N, D)
        "context": d_so.unsqueeze(1) * center,  # (N, D)
        "negatives": d_sk.unsqueeze(2) * center.unsqueeze(1),  # (N, K, D)
    }
    return loss, grads


def perplexity(logits, targets, ignore_index=-100):
    """Perplexity exp(mean NLL) over the positions whose target is not ``ignore_index``.

    Args:
        logits: (N, T, V) float32/float64 unnormalised scores.
        targets: (N, T) int64 token ids in [0, V), or ``ignore_index``.
        ignore_index: target value of the positions left out of the mean.

    Returns:
        0-d tensor, dtype and device of ``logits``: exp(Σ NLL / #kept).  NaN
        when every position is ignored (0/0, as ``F.cross_entropy``).
    """
    keep = targets != ignore_index  # (N, T) bool
    safe = torch.where(keep, targets, torch.zeros_like(targets))  # (N, T) valid indices everywhere
    m = logits.amax(dim=-1, keepdim=True)  # (N, T, 1)
    lse = torch.log(torch.exp(logits - m).sum(dim=-1))  # (N, T) log-sum-exp minus m
    picked = (logits - m).gather(-1, safe.unsqueeze(-1)).squeeze(-1)  # (N, T) target logit minus m
    nll = lse - picked  # (N, T) -log softmax[target], no large m added back
    zero = torch.zeros((), dtype=logits.dtype, device=logits.device)
    total = torch.where(keep, nll, zero).sum()  # 0-d
    count = keep.sum().to(logits.dtype)  # 0-d
    return torch.exp(total / count)


def _ngrams(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(candidates, references, max_n=4):
    """Corpus-level BLEU with uniform weights 1/max_n and no smoothing.

    Args:
        candidates: list of candidate translations, each a list of str tokens.
        references: list (one per candidate) of lists of reference token lists.
        max_n: the largest n-gram order.

    Returns:
        0-d float64 tensor in [0, 1].

    Raises:
        ValueError: the two lists differ in length, or a candidate has no reference.
    """
    if len(candidates) != len(references):
        raise ValueError("one list of references per candidate is needed")
    matches = [0] * (max_n + 1)
    totals = [0] * (max_n + 1)
    c_len = 0
    r_len = 0
    for cand, refs in zip(candidates, references):
        if not refs:
            raise ValueError("every candidate needs at least one reference")
        for n in range(1, max_n + 1):
            counts = _ngrams(cand, n)
            max_ref = Counter()
            for ref in refs:
                max_ref |= _ngrams(ref, n)  # element-wise max over the references
            matches[n] += sum(min(c, max_ref[g]) for g, c in counts.items())  # clipped counts
            totals[n] += max(1, sum(counts.values()))  # fewer than n tokens still counts 1
        c_len += len(cand)
        r_len += min((len(ref) for ref in refs), key=lambda L: (abs(L - len(cand)), L))
    if any(matches[n] == 0 for n in range(1, max_n + 1)):
        return torch.tensor(0.0, dtype=torch.float64)
    if c_len > r_len:
        bp = 1.0
    else:
        bp = math.exp(1 - r_len / c_len)  # c_len > 0 here: some unigram matched
    log_p = math.fsum(math.log(matches[n] / totals[n]) / max_n for n in range(1, max_n + 1))
    return torch.tensor(bp * math.exp(log_p), dtype=torch.float64)


def tf_idf(documents):
    """TF-IDF matrix of pre-tokenized documents, as scikit-learn's ``TfidfVectorizer`` defaults.

    Args:
        documents: list of D documents, each a list of str tokens (may be empty).

    Returns:
        (matrix, vocabulary): matrix (D, V) float64 with rows L2-normalised (a
        document without tokens gives a zero row); vocabulary the V distinct
        tokens, sorted; column j of the matrix belongs to vocabulary[j].
    """
    counts = [Counter(doc) for doc in documents]
    vocabulary = sorted(set().union(*counts)) if counts else []
    index = {w: j for j, w in enumerate(vocabulary)}
    D, V = len(documents), len(vocabulary)
    tf = torch.zeros(D, V, dtype=torch.float64)  # (D, V) raw counts
    for d, cnt in enumerate(counts):
        for w, c in cnt.items():
            tf[d, index[w]] = c
    df = (tf > 0).sum(dim=0).to(torch.float64)  # (V,) documents containing each term
    idf = torch.log((1 + D) / (1 + df)) + 1  # (V,) smoothed idf
    w = tf * idf  # (D, V)
    norm = w.pow(2).sum(dim=1, keepdim=True).sqrt()  # (D, 1)
    w = torch.where(norm > 0, w / torch.where(norm > 0, norm, torch.ones_like(norm)), w)  # (D, V)
    return w, vocabulary
