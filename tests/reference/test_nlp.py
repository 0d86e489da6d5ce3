"""Reference ``nlp`` vs its oracles: autograd on the stated word2vec loss, F.cross_entropy,
nltk's corpus_bleu (random corpora with zero matches, several references, length ties, short and
long candidates) and scikit-learn's TfidfVectorizer, on many random draws beyond the spec's cases."""

from __future__ import annotations

import random
import sys
import warnings
from pathlib import Path

import pytest
import torch

from grader.catalog.lint import close
from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
ref = CATALOG.references["nlp"]
ASSIGNMENT = CATALOG.get("nlp")
ORACLE = {f.name: f.oracle for f in ASSIGNMENT.functions}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("N,K,D,scale", [(1, 1, 1, 1.0), (4, 3, 5, 0.5), (3, 1, 4, 3.0), (5, 6, 2, 80.0)])
def test_sgns_matches_autograd(seed, N, K, D, scale):
    g = torch.Generator().manual_seed(seed)
    args = [torch.randn(*s, generator=g, dtype=torch.float64) * scale for s in ((N, D), (N, D), (N, K, D))]
    got = ref.skipgram_negative_sampling_loss(*args)
    assert close(got, ORACLE["skipgram_negative_sampling_loss"](*args), rtol=1e-10, atol=1e-12)
    got32 = ref.skipgram_negative_sampling_loss(*[a.float() for a in args])
    assert got32[0].dtype == torch.float32 and torch.isfinite(got32[0])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sgns_exact_at_1e4(dtype):
    v = torch.tensor([[100.0, 0.0]], dtype=dtype)
    u = torch.tensor([[-100.0, 0.0]], dtype=dtype)  # s_o = -1e4: -log sigma(s_o) = 1e4
    neg = torch.tensor([[[100.0, 0.0]]], dtype=dtype)  # s_k = 1e4: -log sigma(-s_k) = 1e4
    loss, grads = ref.skipgram_negative_sampling_loss(v, u, neg)
    assert loss.item() == pytest.approx(2e4, rel=1e-7)
    assert torch.equal(grads["context"], -v) and torch.equal(grads["negatives"], v[:, None, :])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ignore_index", [-100, 0, 3, -1])
def test_perplexity_matches_cross_entropy(seed, ignore_index):
    g = torch.Generator().manual_seed(seed)
    N, T, V = 3, 7, 6
    logits = torch.randn(N, T, V, generator=g, dtype=torch.float64) * 3
    logits = logits + torch.where(torch.rand(N, T, 1, generator=g) < 0.5, -1e4, 1e4).double() * (seed % 2)
    targets = torch.randint(0, V, (N, T), generator=g)
    targets[torch.rand(N, T, generator=g) < 0.3] = ignore_index
    targets[seed % N] = ignore_index  # one sequence entirely ignored
    assert close(ref.perplexity(logits, targets, ignore_index),
                    ORACLE["perplexity"](logits, targets, ignore_index), rtol=1e-10, atol=0)


def _random_corpus(rng):
    words = "abcdefgh"[: rng.randint(2, 8)]
    draw = lambda L: [rng.choice(words) for _ in range(L)]  # noqa: E731
    cands, refs = [], []
    for _ in range(rng.randint(1, 5)):
        cands.append(draw(rng.randint(0, 12)))
        refs.append([draw(rng.randint(0, 14)) for _ in range(rng.randint(1, 4))])
    return cands, refs


def test_bleu_matches_nltk_on_random_corpora():
    pytest.importorskip("nltk")
    from nltk.translate.bleu_score import corpus_bleu as nltk_bleu

    rng = random.Random(0)
    seen = {"zero": 0, "nonzero": 0, "tie": 0, "empty_candidate": 0, "short": 0, "long": 0}
    for _ in range(1500):
        cands, refs = _random_corpus(rng)
        if not any(cands):
            continue
        max_n = rng.randint(1, 5)
        got = float(ref.corpus_bleu(cands, refs, max_n))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exp = nltk_bleu(refs, cands, weights=(1 / max_n,) * max_n)
        if got == 0:
            # nltk: 0 without unigram matches, else a zero precision becomes sys.float_info.min
            assert exp <= sys.float_info.min ** (1 / max_n) * (1 + 1e-9), (cands, refs, max_n, exp)
            seen["zero"] += 1
        else:
            assert got == pytest.approx(exp, rel=1e-12), (cands, refs, max_n)
            seen["nonzero"] += 1
        for c, rs in zip(cands, refs):
            lens = [len(r) for r in rs]
            seen["tie"] += any(abs(a - len(c)) == abs(b - len(c)) and a != b for a in lens for b in lens)
            seen["empty_candidate"] += not c
            seen["short"] += len(c) < min(lens)
            seen["long"] += len(c) > max(lens)
    assert min(seen.values()) > 50, seen


def test_tf_idf_matches_sklearn_on_random_documents():
    pytest.importorskip("sklearn")
    rng = random.Random(1)
    for _ in range(300):
        vocab = ["a", "B", "c", "The", "the", "zebra"][: rng.randint(1, 6)]
        docs = [[rng.choice(vocab) for _ in range(rng.randint(0, 8))] for _ in range(rng.randint(1, 6))]
        if not any(docs):
            continue
        got = ref.tf_idf(docs)
        exp = ORACLE["tf_idf"](docs)
        assert got[1] == exp[1] and close(got[0], exp[0], rtol=1e-12, atol=1e-15), docs
