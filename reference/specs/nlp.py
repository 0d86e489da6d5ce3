"""Grading spec of the ``nlp`` assignment (see ASSIGNMENTS.md, section 12).

Skip-gram negative sampling with dot products up to +-1e4 and K = 1;
perplexity with ignored positions (a whole sequence ignored, ignore_index
other than -100, logits shifted by +-1e4); corpus BLEU on corpora built from
a seeded generator (perturbed copies of a sentence, so that every n-gram
order has matches), several references of different lengths, ties for the
closest reference length, candidates shorter and longer than every
reference, zero 4-gram matches; TF-IDF with an empty document, repeated
tokens and a token in every document.

The BLEU and TF-IDF inputs are lists of strings: their cases run once, with
the "float64" label (the outputs are float64 whatever the case dtype).
Mistake variants are written out here (the spec never imports the reference).
"""

from __future__ import annotations

import math
from collections import Counter

import torch

from grader.spec import (
    Assignment,
    Case,
    Function,
    GradCheck,
    Mistake,
    Tolerance,
    as_dtype,
    call,
    rand,
    randint,
    randn,
    tensor,
    Prefixes,
    AUTODIFF,
)

_ONE = ("float64",)

# --------------------------------------------------------------------------- #
# Skip-gram negative sampling
# --------------------------------------------------------------------------- #


def _sgns_case(N, K, D, *, scale=0.5):
    def make(g, dt):
        return call(randn(g, (N, D), dt, scale=scale), randn(g, (N, D), dt, scale=scale),
                    randn(g, (N, K, D), dt, scale=scale))

    return make


def _sgns_mixed_case(N, K, D, *, scale):
    """Vectors ~ ``scale`` (dot products up to ~scale^2) except pair 0, whose dot products are ~1: every
    output then starts with values that are not saturated to exactly 0."""

    def make(g, dt):
        c = _sgns_case(N, K, D, scale=scale)(g, dt)
        center, context, negatives = (t.clone() for t in c.args)
        for t in (center, context, negatives):
            t[0] = t[0] / scale
        return call(center, context, negatives)

    return make


def _sgns_extremes(g, dt):
    """Dot products of exactly +-1e4 (and one of 0), mixed signs, K = 2, D = 2."""
    center = tensor([[100.0, 0.0], [100.0, 0.0], [0.0, 100.0], [0.0, 100.0]], dt)
    context = tensor([[100.0, 0.0], [-100.0, 0.0], [3.0, -100.0], [0.5, 0.0]], dt)
    negatives = tensor([[[-100.0, 1.0], [100.0, -2.0]],
                        [[100.0, 5.0], [-100.0, 0.0]],
                        [[0.0, -100.0], [2.0, 100.0]],
                        [[1.0, 0.0], [0.0, -0.5]]], dt)
    return call(center, context, negatives)


def _softplus(s):
    return torch.clamp(s, min=0) + torch.log1p(torch.exp(-s.abs()))


def _sig(s):
    z = torch.exp(-s.abs())
    return torch.where(s >= 0, 1 / (1 + z), z / (1 + z))


def _sgns(center, context, negatives, *, neg_sign=-1, unstable=False, mean=True, center_negatives=True):
    N = center.shape[0]
    s_o = (context * center).sum(-1)
    s_k = (negatives * center[:, None, :]).sum(-1)
    a_k = neg_sign * s_k  # the argument of log sigma for the negatives
    if unstable:
        loss = -torch.log(1 / (1 + torch.exp(-s_o))) - torch.log(1 / (1 + torch.exp(-a_k))).sum(-1)
    else:
        loss = _softplus(-s_o) + _softplus(-a_k).sum(-1)
    div = N if mean else 1
    loss = loss.sum() / div
    d_so = (_sig(s_o) - 1) / div
    d_sk = -neg_sign * _sig(-a_k) / div  # d/ds_k of -log sigma(neg_sign * s_k)
    g_center = d_so[:, None] * context
    if center_negatives:
        g_center = g_center + (d_sk[:, :, None] * negatives).sum(1)
    return loss, {"center": g_center, "context": d_so[:, None] * center,
                  "negatives": d_sk[:, :, None] * center[:, None, :]}


def _sgns_negative_sign(center, context, negatives):
    return _sgns(center, context, negatives, neg_sign=1)


def _sgns_unstable(center, context, negatives):
    return _sgns(center, context, negatives, unstable=True)


def _sgns_sum(center, context, negatives):
    return _sgns(center, context, negatives, mean=False)


def _sgns_center_missing_negatives(center, context, negatives):
    return _sgns(center, context, negatives, center_negatives=False)


def _oracle_sgns(center, context, negatives):
    """Autograd through the stated loss, written with torch.nn.functional.logsigmoid."""
    F = torch.nn.functional
    leaves = [t.detach().clone().requires_grad_(True) for t in (center, context, negatives)]
    v, u_o, u_k = leaves
    with torch.enable_grad():
        loss = (-F.logsigmoid((u_o * v).sum(-1))
                - F.logsigmoid(-torch.einsum("nkd,nd->nk", u_k, v)).sum(-1)).mean()
        grads = torch.autograd.grad(loss, leaves)
    return loss.detach(), dict(zip(("center", "context", "negatives"), grads))


_SGNS_CASES = (
    Case("basic", _sgns_case(4, 3, 5), points=2.0, description="N=4, K=3, D=5, dot products ~ 1"),
    Case("k_1", _sgns_case(3, 1, 4), description="one negative per pair (K=1)"),
    Case("batch_1", _sgns_case(1, 5, 6), description="N=1, K=5, D=6"),
    Case("saturated", _sgns_case(5, 4, 8, scale=2.5), description="dot products ~ +-20: sigmoids saturated"),
    Case("extremes_1e4", _sgns_extremes, points=2.0, gradcheck=False,
         description="dot products of exactly +-1e4 (and 0): log sigma must stay finite "
                     "(no finite-difference check: the loss is ~1e4 there)"),
    Case("hidden_larger", _sgns_case(8, 5, 10), hidden=True, description="N=8, K=5, D=10"),
    Case("hidden_large_1e4", _sgns_mixed_case(6, 2, 3, scale=70.0), hidden=True, points=2.0, gradcheck=False,
         description="vectors ~ 70: dot products up to ~1e4 (pair 0 ~ 1)"),
)

_SGNS_GRADCHECK = GradCheck(
    forward="skipgram_negative_sampling_loss",
    inputs=lambda c: c,
    wrt={0: (1, "center"), 1: (1, "context"), 2: (1, "negatives")},
    output=(0,),
)

# --------------------------------------------------------------------------- #
# Perplexity
# --------------------------------------------------------------------------- #


def _ppl_case(N, T, V, *, ignore_index=-100, p_ignore=0.0, full_rows=(), shift=0.0, scale=2.0, pass_index=True):
    """Random logits/targets; a fraction p_ignore of targets (and every target of the rows in
    full_rows) set to ignore_index; shift adds +-shift to whole positions (softmax-invariant)."""

    def make(g, dt):
        logits = randn(g, (N, T, V), torch.float64, scale=scale)
        if shift:
            sign = torch.where(rand(g, (N, T, 1), torch.float64) < 0.5, -1.0, 1.0)
            logits = logits + sign * shift
        logits = logits.to(as_dtype(dt))
        if ignore_index >= 0:  # a pad id inside the vocabulary: draw real tokens from the others
            targets = randint(g, 0, V - 1, (N, T))
            targets = targets + (targets >= ignore_index).long()
        else:
            targets = randint(g, 0, V, (N, T))
        drop = rand(g, (N, T), torch.float64) < p_ignore
        for r in full_rows:
            drop[r] = True
        targets = torch.where(drop, torch.full_like(targets, ignore_index), targets)
        if pass_index or ignore_index != -100:
            return call(logits, targets, ignore_index=ignore_index)
        return call(logits, targets)

    return make


def _nll(logits, targets, ignore_index, *, shift=True):
    keep = targets != ignore_index
    safe = torch.where(keep, targets, torch.zeros_like(targets))
    if shift:
        m = logits.amax(-1, keepdim=True)
        logp = logits - m - torch.log(torch.exp(logits - m).sum(-1, keepdim=True))
    else:
        logp = logits - torch.log(torch.exp(logits).sum(-1, keepdim=True))
    nll = -logp.gather(-1, safe[..., None]).squeeze(-1)
    return torch.where(keep, nll, torch.zeros_like(nll)), keep


def _ppl_exp_sum(logits, targets, ignore_index=-100):
    nll, keep = _nll(logits, targets, ignore_index)
    return torch.exp(nll.sum())


def _ppl_mean_all(logits, targets, ignore_index=-100):
    nll, keep = _nll(logits, targets, ignore_index)
    return torch.exp(nll.mean())


def _ppl_per_sequence(logits, targets, ignore_index=-100):
    nll, keep = _nll(logits, targets, ignore_index)
    return torch.exp((nll.sum(1) / keep.sum(1)).mean())


def _ppl_no_shift(logits, targets, ignore_index=-100):
    nll, keep = _nll(logits, targets, ignore_index, shift=False)
    return torch.exp(nll.sum() / keep.sum())


def _ppl_hardcoded_ignore(logits, targets, ignore_index=-100):
    # targets equal to the real ignore_index are counted as tokens
    kept = targets[targets != -100]
    if ((kept < 0) | (kept >= logits.shape[-1])).any():  # a negative ignore_index used as an index: the
        return torch.full((), float("nan"), dtype=logits.dtype)  # student's gather raises (never matched)
    nll, keep = _nll(logits, targets, -100)
    return torch.exp(nll.sum() / keep.sum())


def _oracle_ppl(logits, targets, ignore_index=-100):
    V = logits.shape[-1]
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=ignore_index)
    return torch.exp(ce)


# Logits shifted by +-1e4: float32 cannot hold the logits to better than ~1e-3
# and a correct lse - logit formulation (lse = m + log(sum)) loses ~5e-4 in
# the NLL, i.e. ~5e-4 relative in the perplexity.
_PPL_1E4_TOL = {"float32": Tolerance(rtol=2e-3, atol=1e-5)}

_PPL_CASES = (
    Case("basic", _ppl_case(2, 5, 7), points=2.0, description="N=2, T=5, V=7, nothing ignored"),
    Case("ignore_default", _ppl_case(3, 6, 8, p_ignore=0.3, pass_index=False), points=2.0,
         description="about 30% of targets are -100 (the default ignore_index), unequal counts per sequence"),
    Case("all_ignored_row", _ppl_case(3, 4, 5, p_ignore=0.25, full_rows=(1,)), points=2.0,
         description="sequence 1 is entirely ignored (contributes nothing)"),
    Case("pad_id_0", _ppl_case(2, 7, 6, ignore_index=0, p_ignore=0.35),
         description="ignore_index = 0 (a pad id inside the vocabulary)"),
    Case("one_token", _ppl_case(1, 1, 4), description="N = T = 1"),
    Case("shifted_1e4", _ppl_case(2, 5, 6, p_ignore=0.2, shift=1e4), points=2.0, tolerance=_PPL_1E4_TOL,
         description="logits shifted by +-1e4 per position (perplexity unchanged)"),
    Case("hidden_large_vocab", _ppl_case(4, 12, 50, p_ignore=0.2, full_rows=(3,), scale=3.0), hidden=True,
         points=2.0, description="N=4, T=12, V=50, last sequence all ignored"),
    Case("hidden_ignore_minus_1", _ppl_case(3, 5, 9, ignore_index=-1, p_ignore=0.4), hidden=True,
         description="ignore_index = -1"),
)

# --------------------------------------------------------------------------- #
# BLEU
# --------------------------------------------------------------------------- #

_WORDS = ("the", "cat", "sat", "on", "mat", "a", "dog", "in", "house", "The", "Paris", "is")


def _draw(g, n_words, length):
    return [_WORDS[i] for i in randint(g, 0, n_words, (length,)).tolist()]


def _perturb(g, base, n_words, p_replace, length_change):
    """A copy of ``base`` with a fraction of tokens replaced, then ``length_change`` tokens
    inserted (> 0) or deleted (< 0) at random positions."""
    out = list(base)
    for i in range(len(out)):
        if float(rand(g, (), torch.float64)) < p_replace:
            out[i] = _WORDS[int(randint(g, 0, n_words, ()))]
    for _ in range(max(length_change, 0)):
        out.insert(int(randint(g, 0, len(out) + 1, ())), _WORDS[int(randint(g, 0, n_words, ()))])
    for _ in range(max(-length_change, 0)):
        if out:
            del out[int(randint(g, 0, len(out), ()))]
    return out


def _bleu_case(n_cand, n_refs, *, n_words=10, length=(8, 15), p_replace=0.15, cand_change=(-2, 3),
               ref_change=(-3, 4), max_n=None):
    """n_refs: int, or (lo, hi) drawn per candidate. Changes are (lo, hi) ranges of inserted (+) / deleted (-)
    tokens relative to a shared base sentence."""

    def make(g, dt):
        cands, refs = [], []
        for _ in range(n_cand):
            base = _draw(g, n_words, int(randint(g, length[0], length[1] + 1, ())))
            cands.append(_perturb(g, base, n_words, p_replace, int(randint(g, cand_change[0], cand_change[1] + 1, ()))))
            k = n_refs if isinstance(n_refs, int) else int(randint(g, n_refs[0], n_refs[1] + 1, ()))
            refs.append([_perturb(g, base, n_words, p_replace, int(randint(g, ref_change[0], ref_change[1] + 1, ())))
                         for _ in range(k)])
        return call(cands, refs) if max_n is None else call(cands, refs, max_n=max_n)

    return make


def _bleu_tie(g, dt):
    """Closest-reference ties: candidate 0 (10 tokens) has references of 8 and 12 tokens (r = 8);
    candidate 1 (6 tokens) one reference of 10; candidate 2 (6 tokens) references of 5 and 20 (r = 5).
    c = 22 < r = 23, so the brevity penalty depends on every choice of r."""
    base = _draw(g, 9, 20)
    c0, c1, c2 = base[:10], base[5:11], base[12:18]
    refs0 = [base[:8], base[:6] + base[4:10]]
    refs1 = [base[3:13]]
    refs2 = [base[12:17], base[:20]]
    return call([c0, c1, c2], [refs0, refs1, refs2])


def _bleu_short(g, dt):
    """Every candidate shorter than each of its references; one candidate of 2 tokens (< 3, 4)."""
    cands, refs = [], []
    for L in (9, 7, 2, 11):
        base = _draw(g, 10, L + 6)
        cands.append(base[:L])
        refs.append([_perturb(g, base, 10, 0.1, 0), _perturb(g, base, 10, 0.1, 2)])
    return call(cands, refs)


def _bleu_long(g, dt):
    """Every candidate longer than each of its references."""
    cands, refs = [], []
    for L in (8, 12, 10):
        base = _draw(g, 10, L)
        cands.append(_perturb(g, base, 10, 0.1, 4))
        refs.append([base[: L - 1], _perturb(g, base, 10, 0.1, -2)])
    return call(cands, refs)


def _bleu_no_4gram(g, dt):
    """Unigram-trigram matches but no 4-gram match anywhere: BLEU = 0."""
    ref = ["the", "cat", "sat", "on", "the", "mat", "in", "a", "house"]
    cands = [["the", "cat", "sat", "in", "the", "mat", "on", "a", "house"], ["a", "cat", "sat", "on", "a", "dog"]]
    return call(cands, [[ref], [["a", "dog", "sat", "on", "a", "mat"]]])


def _bleu_with_empty(g, dt):
    """One empty candidate among ordinary ones (it adds 1 to every denominator, 0 to c)."""
    c = _bleu_case(4, (1, 3))(g, dt)
    cands, refs = c.args
    return call(cands[:2] + [[]] + cands[2:], refs[:2] + [[_draw(g, 10, 5)]] + refs[2:])


def _ngr(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _bleu(candidates, references, max_n=4, *, clip=True, bp="closest", tie="shorter", mean="geometric"):
    num, den = [0] * (max_n + 1), [0] * (max_n + 1)
    c = r = 0
    for cand, refs in zip(candidates, references):
        for n in range(1, max_n + 1):
            counts = _ngr(cand, n)
            best = Counter()
            for ref in refs:
                best |= _ngr(ref, n)
            num[n] += sum(min(k, best[gram]) if clip else (k if best[gram] else 0) for gram, k in counts.items())
            den[n] += max(1, sum(counts.values()))
        c += len(cand)
        lens = [len(x) for x in refs]
        if bp == "longest":
            r += max(lens)
        else:
            r += min(lens, key=lambda L: (abs(L - len(cand)), L if tie == "shorter" else -L))
    if mean == "arithmetic":
        score = sum(num[n] / den[n] for n in range(1, max_n + 1)) / max_n
    else:
        if any(num[n] == 0 for n in range(1, max_n + 1)):
            return torch.tensor(0.0, dtype=torch.float64)
        score = math.exp(math.fsum(math.log(num[n] / den[n]) / max_n for n in range(1, max_n + 1)))
    if bp != "none" and c <= r:
        score *= math.exp(1 - r / c) if c else 0.0
    return torch.tensor(score, dtype=torch.float64)


def _bleu_no_clip(candidates, references, max_n=4):
    return _bleu(candidates, references, max_n, clip=False)


def _bleu_no_bp(candidates, references, max_n=4):
    return _bleu(candidates, references, max_n, bp="none")


def _bleu_longest(candidates, references, max_n=4):
    return _bleu(candidates, references, max_n, bp="longest")


def _bleu_tie_longer(candidates, references, max_n=4):
    return _bleu(candidates, references, max_n, tie="longer")


def _bleu_arithmetic(candidates, references, max_n=4):
    return _bleu(candidates, references, max_n, mean="arithmetic")


def _bleu_sentence_average(candidates, references, max_n=4):
    scores = [float(_bleu([c], [r], max_n)) for c, r in zip(candidates, references)]
    return torch.tensor(sum(scores) / len(scores), dtype=torch.float64)


def _oracle_bleu(candidates, references, max_n=4):
    import warnings

    from nltk.translate.bleu_score import corpus_bleu

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nltk warns about zero n-gram matches
        score = corpus_bleu(references, candidates, weights=(1.0 / max_n,) * max_n)
    return torch.tensor(float(score), dtype=torch.float64)


_BLEU_CASES = (
    Case("basic", _bleu_case(3, 1), dtypes=_ONE, points=2.0,
         description="3 candidates, one reference each (perturbed copies of a sentence)"),
    Case("multi_reference", _bleu_case(4, 3, ref_change=(-4, 5)), dtypes=_ONE, points=2.0,
         description="4 candidates, 3 references of different lengths each"),
    Case("shorter_than_references", _bleu_short, dtypes=_ONE, points=2.0,
         description="candidates shorter than every reference (brevity penalty), one of 2 tokens"),
    Case("longer_than_references", _bleu_long, dtypes=_ONE,
         description="candidates longer than every reference (no brevity penalty)"),
    Case("closest_length_tie", _bleu_tie, dtypes=_ONE, points=2.0,
         description="a tie for the closest reference length (the shorter counts)"),
    Case("repeated_words", _bleu_case(3, 2, n_words=4, p_replace=0.1), dtypes=_ONE,
         description="4-word vocabulary: many repeated n-grams (clipping matters)"),
    Case("no_4gram_match", _bleu_no_4gram, dtypes=_ONE, description="no 4-gram matches anywhere: BLEU = 0"),
    Case("max_n_2", _bleu_case(3, 2, p_replace=0.3, max_n=2), dtypes=_ONE, description="max_n = 2 (BLEU-2)"),
    Case("hidden_corpus", _bleu_case(10, (1, 4), length=(5, 25), cand_change=(-5, 5), ref_change=(-6, 6)),
         dtypes=_ONE, hidden=True, points=2.0, description="10 candidates, 1-4 references each"),
    Case("hidden_empty_candidate", _bleu_with_empty, dtypes=_ONE, hidden=True,
         description="an empty candidate among others"),
    Case("hidden_max_n_3", _bleu_case(5, (1, 3), p_replace=0.2, max_n=3), dtypes=_ONE, hidden=True,
         description="max_n = 3, 5 candidates, 1-3 references each"),
)

# --------------------------------------------------------------------------- #
# TF-IDF
# --------------------------------------------------------------------------- #


def _docs_case(D, *, n_words=10, length=(3, 9), empty=(), common=None, lead=()):
    """D documents of random lengths; ``common`` inserted in every non-empty one; ``lead`` tokens prepended
    to document 0 (a hidden case whose matrix starts with a run of zeros would look, byte for byte, like
    other outputs: the student kit's leak test compares output prefixes)."""

    def make(g, dt):
        docs = []
        for d in range(D):
            doc = [] if d in empty else _draw(g, n_words, int(randint(g, length[0], length[1] + 1, ())))
            if common is not None and d not in empty:
                doc.insert(int(randint(g, 0, len(doc) + 1, ())), common)
            docs.append(doc)
        docs[0] = list(lead) + docs[0]
        return call(docs)

    return make


def _tfidf(documents, *, idf="smooth", log=math.log, normalise=True, df_repeats=False):
    vocab = sorted({w for d in documents for w in d})
    D = len(documents)
    df = Counter()
    for d in documents:
        df.update(d if df_repeats else set(d))
    rows = []
    for d in documents:
        cnt = Counter(d)
        row = []
        for w in vocab:
            if idf == "smooth":
                i = log((1 + D) / (1 + df[w])) + 1
            elif idf == "unsmoothed":
                i = log(D / df[w]) + 1
            else:  # "no_plus_one"
                i = log((1 + D) / (1 + df[w]))
            row.append(cnt[w] * i)
        norm = math.sqrt(sum(x * x for x in row))
        if normalise and norm > 0:
            row = [x / norm for x in row]
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float64).reshape(D, len(vocab)), vocab


def _tfidf_unsmoothed(documents):
    return _tfidf(documents, idf="unsmoothed")


def _tfidf_log10(documents):
    return _tfidf(documents, log=math.log10)


def _tfidf_not_normalised(documents):
    return _tfidf(documents, normalise=False)


def _tfidf_df_repeats(documents):
    return _tfidf(documents, df_repeats=True)


def _tfidf_no_plus_one(documents):
    return _tfidf(documents, idf="no_plus_one")


def _oracle_tfidf(documents):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer=lambda d: d)  # pre-tokenized: no lower-casing, no token pattern
    X = vec.fit_transform(documents).toarray()
    return torch.from_numpy(X).to(torch.float64), [str(w) for w in vec.get_feature_names_out()]


_TFIDF_CASES = (
    Case("basic", _docs_case(4), dtypes=_ONE, points=2.0, description="4 documents of 3-9 tokens"),
    Case("empty_document", _docs_case(4, empty=(2,)), dtypes=_ONE, points=2.0,
         description="document 2 is empty (a zero row)"),
    Case("repeated_tokens", _docs_case(3, n_words=4, length=(6, 10)), dtypes=_ONE,
         description="4-word vocabulary: tokens repeated within documents"),
    Case("token_in_every_document", _docs_case(5, common="the", n_words=9, length=(2, 6)), dtypes=_ONE,
         points=2.0, description='"the" in every document (idf = 1)'),
    Case("single_document", _docs_case(1, length=(5, 8)), dtypes=_ONE, description="D = 1"),
    Case("capitalised_words", _docs_case(4, n_words=12, length=(4, 8)), dtypes=_ONE,
         description="'The' and 'the' are different tokens; 'Paris' sorts before 'a'"),
    Case("hidden_larger", _docs_case(8, n_words=12, length=(0, 12), empty=(5,), common="a", lead=("Paris",)),
         dtypes=_ONE,
         hidden=True, points=2.0, description="8 documents, one empty, 'a' in all the others"),
    Case("hidden_short_documents", _docs_case(12, n_words=8, length=(0, 3), lead=("a",)), dtypes=_ONE, hidden=True,
         description="12 documents of 0-3 tokens"),
)

# --------------------------------------------------------------------------- #
# The assignment
# --------------------------------------------------------------------------- #

_HINT_PPL_SHIFT = (
    "Your log-softmax overflows for logits of size 1e4 (exp(1e4) = inf, and for very negative logits "
    "log(0) = -inf). Subtract the max over the vocabulary first: log softmax(z)_y = (z_y - m) - "
    "log(sum(exp(z - m)))."
)

ASSIGNMENT = Assignment(
    id="nlp",
    position=12,
    title="word2vec negative sampling, perplexity, BLEU and TF-IDF",
    banned=(
        "torch.nn",  # torch.nn.functional.* (logsigmoid, softplus, cross_entropy, ...) and every module
        "torch.logsigmoid",
        "torch._C._nn",  # the backend of torch.nn.functional (log_sigmoid, softplus, cross_entropy_loss, ...)
        "torch.binary_cross_entropy_with_logits",
        "nltk",
        "sklearn",
        "gensim",
        "torchtext",
        "torchmetrics",
        "sacrebleu",
        "torcheval",
        "evaluate",  # Hugging Face evaluate (bleu, perplexity)
        "jax.nn",
        "tensorflow",
        "keras",
        *AUTODIFF,
    ),
    banned_ops=(
        "aten::log_sigmoid_forward",
        "aten::log_sigmoid_backward",
        "aten::softplus",  # softplus(-x) = -log sigmoid(x): F.softplus's op
        "aten::binary_cross_entropy_with_logits",
        "aten::cross_entropy_loss",
        "aten::nll_loss_forward",
        "aten::nll_loss2d_forward",
    ),
    functions=(
        Function(
            name="skipgram_negative_sampling_loss",
            cases=_SGNS_CASES,
            gradcheck=_SGNS_GRADCHECK,
            oracle=_oracle_sgns,
            mistakes=(
                Mistake(
                    "sgns_negative_sign",
                    "Your negative samples use log sigma(u_k . v_c). They must be pushed AWAY from the center "
                    "word: the loss has -log sigma(-u_k . v_c), so the gradient of s_k is +sigma(s_k)/N.",
                    _sgns_negative_sign,
                    "log sigma(u_k.v) instead of log sigma(-u_k.v)",
                ),
                Mistake(
                    "sgns_unstable_log_sigmoid",
                    "Your loss is inf for dot products near +-1e4: sigmoid(-1e4) underflows to 0 and log(0) = -inf. "
                    "Compute -log sigma(s) directly and stably: log(1 + exp(-s)) = max(-s, 0) + log1p(exp(-|s|)).",
                    _sgns_unstable,
                    "log(sigmoid(s)) overflows",
                ),
                Mistake(
                    "sgns_sum_not_mean",
                    "Your loss and gradients are N times too large: the loss is the MEAN over the N pairs, so "
                    "divide the sum (and every gradient) by N.",
                    _sgns_sum,
                    "sum over the batch instead of the mean",
                ),
                Mistake(
                    "sgns_center_grad_missing_negatives",
                    "Your gradient for the center vectors ignores the negative samples. v_c appears in every "
                    "s_k = u_k . v_c too: grads['center'] = dL/ds_o * u_o + sum_k dL/ds_k * u_k.",
                    _sgns_center_missing_negatives,
                    "center gradient without the negatives' term",
                ),
            ),
        ),
        Function(
            name="perplexity",
            prefixes=Prefixes(args=(0, 1), name="sequence"),
            cases=_PPL_CASES,
            oracle=_oracle_ppl,
            mistakes=(
                Mistake(
                    "ppl_exp_of_sum",
                    "You exponentiate the SUM of the negative log-likelihoods. Perplexity is the exponential "
                    "of their MEAN over the kept positions: exp(total_nll / number_of_kept_positions).",
                    _ppl_exp_sum,
                    "exp of the summed NLL",
                ),
                Mistake(
                    "ppl_mean_includes_ignored",
                    "Your mean divides by every position, ignored ones included. Divide the summed NLL by the "
                    "number of positions whose target is not ignore_index.",
                    _ppl_mean_all,
                    "averaged over ignored positions",
                ),
                Mistake(
                    "ppl_per_sequence_mean",
                    "You average the NLL per sequence first and then over sequences. Perplexity averages over "
                    "tokens: sequences with more kept tokens weigh more, and a fully ignored sequence (0/0 = "
                    "NaN for you) contributes nothing. Sum the NLL over all kept positions and divide once.",
                    _ppl_per_sequence,
                    "mean per sequence, then over sequences",
                ),
                Mistake("ppl_no_logsumexp_shift", _HINT_PPL_SHIFT, _ppl_no_shift, "log-softmax without the max shift"),
                Mistake(
                    "ppl_ignore_index_hardcoded",
                    "You always skip targets equal to -100 and ignore the ignore_index argument. Use "
                    "targets != ignore_index (here a pad id such as 0 can be the ignored value).",
                    _ppl_hardcoded_ignore,
                    "ignore_index argument not used",
                ),
            ),
        ),
        Function(
            name="corpus_bleu",
            prefixes=Prefixes(args=(0, 1), name="sentence"),
            cases=_BLEU_CASES,
            oracle=_oracle_bleu,
            mistakes=(
                Mistake(
                    "bleu_no_clipping",
                    "Your n-gram matches are not clipped: a candidate n-gram may count at most as often as it "
                    "occurs in one reference (the maximum over the references), min(count, max_ref_count). "
                    "Otherwise 'the the the the' scores a perfect unigram precision.",
                    _bleu_no_clip,
                    "n-gram counts not clipped",
                ),
                Mistake(
                    "bleu_no_brevity_penalty",
                    "Your BLEU has no brevity penalty: short candidates are not penalised. Multiply by "
                    "BP = exp(1 - r/c) when the total candidate length c is at most r (the summed closest "
                    "reference lengths), 1 otherwise.",
                    _bleu_no_bp,
                    "brevity penalty missing",
                ),
                Mistake(
                    "bleu_bp_longest_reference",
                    "Your brevity penalty uses the longest reference of each candidate. r is the sum of the "
                    "reference lengths CLOSEST to each candidate's length (on a tie, the shorter one).",
                    _bleu_longest,
                    "brevity penalty from the longest reference",
                ),
                Mistake(
                    "bleu_closest_tie_longer",
                    "On a tie for the closest reference length you take the longer reference. Papineni et al. "
                    "(and nltk) take the shorter one: min(lengths, key=lambda L: (abs(L - c), L)).",
                    _bleu_tie_longer,
                    "ties broken towards the longer reference",
                ),
                Mistake(
                    "bleu_sentence_average",
                    "You average sentence-level BLEU scores. Corpus BLEU sums the clipped matches and the "
                    "n-gram counts (and the lengths c and r) over all candidates first, then computes one "
                    "score.",
                    _bleu_sentence_average,
                    "average of sentence BLEU",
                ),
                Mistake(
                    "bleu_arithmetic_mean",
                    "You average the n-gram precisions arithmetically. BLEU takes their geometric mean: "
                    "exp(sum_n log(p_n) / max_n) (and is 0 when some p_n is 0).",
                    _bleu_arithmetic,
                    "arithmetic mean of the precisions",
                ),
            ),
        ),
        Function(
            name="tf_idf",
            prefixes=Prefixes(args=(0,), name="document"),
            cases=_TFIDF_CASES,
            oracle=_oracle_tfidf,
            mistakes=(
                Mistake(
                    "tfidf_unsmoothed_idf",
                    "Your idf is ln(D / df) + 1, without smoothing. scikit-learn's default (smooth_idf=True) "
                    "adds 1 to D and df, as if one extra document contained every term: "
                    "ln((1 + D) / (1 + df)) + 1.",
                    _tfidf_unsmoothed,
                    "unsmoothed idf",
                ),
                Mistake(
                    "tfidf_log10",
                    "Your idf uses log10. scikit-learn uses the natural logarithm: ln((1 + D) / (1 + df)) + 1 "
                    "(math.log or torch.log).",
                    _tfidf_log10,
                    "log base 10",
                ),
                Mistake(
                    "tfidf_not_normalised",
                    "Your rows are not normalised. Divide each document's tf * idf row by its Euclidean norm "
                    "(leave an all-zero row as zeros).",
                    _tfidf_not_normalised,
                    "rows not L2-normalised",
                ),
                Mistake(
                    "tfidf_df_counts_repeats",
                    "Your document frequency counts every occurrence of a term. df is the number of DOCUMENTS "
                    "that contain the term: count each term once per document (e.g. Counter over set(doc)).",
                    _tfidf_df_repeats,
                    "df counts repeated tokens",
                ),
                Mistake(
                    "tfidf_idf_missing_plus_one",
                    "Your idf is ln((1 + D) / (1 + df)) without the final + 1, so a term in every document gets "
                    "weight 0. scikit-learn adds 1: ln((1 + D) / (1 + df)) + 1.",
                    _tfidf_no_plus_one,
                    "idf without + 1",
                ),
            ),
        ),
    ),
)
