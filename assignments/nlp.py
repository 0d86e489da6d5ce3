"""Assignment ``nlp``: word2vec's negative-sampling loss, perplexity, BLEU and TF-IDF, by hand.

Four classic NLP computations:

* skipgram_negative_sampling_loss -- the loss of word2vec's skip-gram with
  negative sampling and its gradients (Mikolov et al., 2013; CS224n):
      loss = mean_n [ -log sigmoid(u_o . v_c) - sum_k log sigmoid(-u_k . v_c) ]
* perplexity -- exp of the mean negative log-likelihood of a language
  model's next-token predictions, skipping padding positions;
* corpus_bleu -- corpus-level BLEU (Papineni et al., 2002), the same number
  as nltk.translate.bleu_score.corpus_bleu without smoothing;
* tf_idf -- the TF-IDF matrix of scikit-learn's TfidfVectorizer with its
  default settings, for documents that are already lists of tokens.

Banned (the grader checks statically and while your code runs):
    torch.nn.functional.* and every torch.nn module, torch.logsigmoid,
    torch.binary_cross_entropy_with_logits (a log-sigmoid in disguise),
    nltk, sklearn, gensim, torchtext, torchmetrics, sacrebleu, and autograd
    (.backward(), torch.autograd.*, torch.func.*). The point is to write
    these yourself. Allowed: elementary tensor ops (exp, log, log1p, clamp,
    where, gather, matmul, sum, ...), Python's collections.Counter, math.

    Also banned: other libraries' versions (torcheval, Hugging Face evaluate,
    jax.nn, tensorflow, keras), and any other automatic differentiation
    (jax.grad, jax.vjp, jax.jvp, jax.jacrev, jax.jacfwd, autograd.grad,
    tensorflow.GradientTape).

Rules: tensor inputs are float32 or float64 (targets int64) on any device;
tensor outputs keep the input's dtype and device; never modify an input in
place. corpus_bleu and tf_idf take plain Python lists of strings and return
float64 CPU tensors.

Tip (from the interview notes): negative sampling turns word2vec's softmax
over the whole vocabulary into a few binary classifications -- the true
context word should score high (sigmoid near 1), the sampled "negative"
words low (their probability pushed towards 0).

Check your work with::

    grade check -a nlp

(add the path of this file if it is not ./nlp.py).
"""

import torch


def skipgram_negative_sampling_loss(center, context, negatives):
    """Skip-gram negative-sampling loss and its gradients.

    With s_o = u_o . v_c (the true context word) and s_k = u_k . v_c
    (the K negative samples) for each of the N training pairs:

        loss = (1/N) sum_n [ -log sigmoid(s_o) - sum_k log sigmoid(-s_k) ]
        dloss/ds_o = (sigmoid(s_o) - 1) / N,   dloss/ds_k = sigmoid(s_k) / N
        grads["center"]    = dloss/ds_o * u_o + sum_k dloss/ds_k * u_k
        grads["context"]   = dloss/ds_o * v_c
        grads["negatives"] = dloss/ds_k * v_c     (one row per negative)

    Args:
        center: (N, D) input vectors v_c of the center words, float32/float64.
        context: (N, D) output vectors u_o of the true context words.
        negatives: (N, K, D) output vectors u_k of K negative samples per pair.

    Returns:
        (loss, grads):
            loss: 0-d tensor (the mean over the N pairs), dtype of center.
            grads: dict with keys "center" (N, D), "context" (N, D) and
                "negatives" (N, K, D): the gradients of loss with respect to
                each input.

    Edge cases: dot products can be as large as +-1e4. log(sigmoid(s))
    must then stay finite: sigmoid(-1e4) underflows to 0 and log(0) = -inf.
    Use -log sigmoid(s) = log(1 + exp(-s)) = max(-s, 0) + log1p(exp(-|s|)).

    Banned: torch.nn.functional.* (logsigmoid, softplus, ...), torch.nn
    modules, torch.logsigmoid, autograd.

    Tip: the loss is a mean over the batch, so every gradient carries the
    1/N factor too.
    """
    # s_o = ...              # (N,)
    raise NotImplementedError


def perplexity(logits, targets, ignore_index=-100):
    """Perplexity of next-token predictions, skipping ignored positions.

    nll[n, t] = -log softmax(logits[n, t])[targets[n, t]]
    perplexity = exp( sum of nll over kept positions / number of kept positions )

    where a position is kept when targets[n, t] != ignore_index. This equals
    exp(F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1),
    ignore_index=ignore_index)).

    Args:
        logits: (N, T, V) unnormalised scores, float32/float64.
        targets: (N, T) int64 token ids in [0, V), or ignore_index.
        ignore_index: the target value of padding positions (default -100;
            can be any int, e.g. a pad id 0).

    Returns:
        0-d tensor, dtype and device of logits.

    Edge cases: logits up to +-1e4 (compute log-softmax with the max
    subtracted); a sequence whose positions are all ignored simply
    contributes nothing; ignored targets (-100) are not valid indices, so
    do not gather with them.

    Banned: torch.nn.functional.* (cross_entropy, log_softmax, nll_loss),
    torch.nn modules, autograd.

    Tip (from the interview notes): a language model is evaluated by its
    perplexity -- the exponential of the average negative log-probability of
    the true next token. Average over tokens, not over sequences, and
    exponentiate the mean, not the sum.
    """
    # keep = ...             # (N, T) bool
    raise NotImplementedError


def corpus_bleu(candidates, references, max_n=4):
    """Corpus-level BLEU (Papineni et al., 2002) with uniform weights, no smoothing.

    For each order n = 1..max_n, over the whole corpus:
        p_n = (sum over candidates of clipped n-gram matches)
              / (sum over candidates of max(1, number of n-grams in the candidate))
    where a candidate n-gram's count is clipped to the largest count of that
    n-gram in any ONE of its references. Then
        BLEU = BP * exp( sum_n log(p_n) / max_n ),
        BP = 1 if c > r else exp(1 - r / c),
    with c the total length of the candidates and r the sum, over the
    candidates, of the length of the reference closest in length to that
    candidate (on a tie, the shorter reference).

    Args:
        candidates: list of candidates, each a list of str tokens.
        references: list with, for each candidate, a list of one or more
            references (each a list of str tokens).
        max_n: the largest n-gram order (int >= 1).

    Returns:
        0-d float64 tensor (on the CPU).

    Edge cases: BLEU is 0.0 when some p_n is 0 (no match of that order
    anywhere in the corpus); a candidate with fewer than n tokens adds 0 to
    the numerator and 1 to the denominator of p_n. Same result as
    nltk.translate.bleu_score.corpus_bleu(references, candidates,
    weights=(1/max_n,) * max_n), except that where some p_n (n >= 2) is 0
    nltk returns a tiny positive number (about 1e-77 for max_n = 4) instead
    of 0.

    Banned: nltk, sacrebleu, torchmetrics, torchtext.

    Tip: corpus BLEU sums numerators and denominators over all sentences
    before dividing; it is not the average of sentence-level BLEU scores.
    """
    # matches = [0] * (max_n + 1)
    raise NotImplementedError


def tf_idf(documents):
    """TF-IDF matrix of pre-tokenized documents (scikit-learn's TfidfVectorizer defaults).

    vocabulary = all distinct tokens, sorted (Python's sorted(), so
                 case-sensitive: "Paris" sorts before "apple")
    tf[d, j]   = number of times vocabulary[j] occurs in document d
    df[j]      = number of documents that contain vocabulary[j] (at least once)
    idf[j]     = ln((1 + D) / (1 + df[j])) + 1          (D = number of documents)
    row d      = tf[d] * idf, divided by its Euclidean (L2) norm

    Args:
        documents: list of D documents, each a list of str tokens (a document
            may be empty; tokens are used as they are, no lower-casing).

    Returns:
        (matrix, vocabulary):
            matrix: (D, V) float64 tensor; matrix[d, j] is the weight of
                vocabulary[j] in document d.
            vocabulary: list of the V distinct tokens (str), sorted.

    Edge cases: an empty document gives a row of zeros (no division by 0);
    a token repeated in one document counts once in df; a token in every
    document still has idf 1, not 0.

    Banned: sklearn (TfidfVectorizer, normalize, ...), gensim, torchtext.

    Tip (from the interview notes): TF-IDF rates a word's importance to one
    document: it grows with the word's frequency in that document and falls
    with the number of documents that contain it.
    """
    # vocabulary = ...
    raise NotImplementedError
