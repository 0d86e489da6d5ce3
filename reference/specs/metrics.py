"""Grading spec for the ``metrics`` assignment (confusion matrix, precision/recall/F1).

Semantics: ``sklearn.metrics.precision_recall_fscore_support`` with
``labels=range(num_classes)`` (scikit-learn 1.9), zero_division included.
Cases cover every average, pos_label=0 with "binary", classes that are never
predicted (0/0 precision) or absent from y_true (0/0 recall), zero_division
in {0, 1, NaN}, a single sample and perfect predictions.  The inputs are
integer labels only: the cases run once, under the name "float64".
Mistake variants are written out here (the spec never imports the reference).
"""

from __future__ import annotations

import math

import torch

from grader.spec import Assignment, Case, Function, Mistake, call, rand, randint

_F64 = ("float64",)

# --------------------------------------------------------------------------- label generators


def _labels(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.int64)


def _skewed(g, c: int, n: int) -> torch.Tensor:
    """Labels in [0, c) with P(k) decreasing in k (imbalanced classes)."""
    u = rand(g, (n,), torch.float64)
    return (c * u * u).to(torch.int64).clamp(max=c - 1)


def _noisy(g, y_true: torch.Tensor, c: int, p_keep: float = 0.6, high: int | None = None) -> torch.Tensor:
    """Predictions equal to y_true with probability ~p_keep, else uniform in [0, high or c)."""
    keep = rand(g, y_true.shape, torch.float64) < p_keep
    other = randint(g, 0, c if high is None else high, y_true.shape)
    return torch.where(keep, y_true, other)


def _pair(kind: str, c: int, n: int):
    """make(g, dt) -> (y_true, y_pred) of a given kind."""

    def make(g, dt):
        if kind == "random":
            yt = randint(g, 0, c, (n,))
            return yt, _noisy(g, yt, c)
        if kind == "skewed":
            yt = _skewed(g, c, n)
            return yt, _noisy(g, yt, c, p_keep=0.5)
        if kind == "never_predicted":  # class c-1 is never predicted
            yt = randint(g, 0, c, (n,))
            yp = torch.where(yt == c - 1, randint(g, 0, c - 1, (n,)), _noisy(g, yt, c, high=c - 1))
            return yt, yp.clamp(max=c - 2)
        if kind == "absent_true":  # class 0 never occurs in y_true
            yt = randint(g, 1, c, (n,))
            return yt, _noisy(g, yt, c)
        if kind == "absent_both":  # classes >= c-2 occur nowhere
            yt = randint(g, 0, c - 2, (n,))
            return yt, _noisy(g, yt, c - 2)
        if kind == "perfect":
            yt = randint(g, 0, c, (n,))
            return yt, yt.clone()
        raise ValueError(kind)

    return make


def _cm_case(kind, c, n):
    pair = _pair(kind, c, n)

    def make(g, dt):
        yt, yp = pair(g, dt)
        return call(yt, yp, c)

    return make


def _prf_case(kind, c, n, **kw):
    pair = _pair(kind, c, n)

    def make(g, dt):
        yt, yp = pair(g, dt)
        return call(yt, yp, c, **kw)

    return make


def _prf_fixed(y_true, y_pred, c, **kw):
    return lambda g, dt: call(_labels(y_true), _labels(y_pred), c, **kw)


# --------------------------------------------------------------------------- mistakes


def _cm(y_true, y_pred, c):
    cm = torch.zeros((c, c), dtype=torch.int64)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        cm[t, p] += 1
    return cm


def _cm_transposed(y_true, y_pred, num_classes):
    return _cm(y_true, y_pred, num_classes).T.contiguous()


def _f(x) -> torch.Tensor:
    return torch.tensor(float(x), dtype=torch.float64)


def _div(a: float, b: float, zd: float) -> float:
    return a / b if b != 0 else zd


def _avg(vals, weights, *, ignore_nan=True):
    pairs = [(v, w) for v, w in zip(vals, weights) if not (ignore_nan and math.isnan(v))]
    if not pairs:
        return math.nan
    if any(math.isnan(v) for v, _ in pairs):
        return math.nan
    total = sum(w for _, w in pairs)
    if total == 0:
        return sum(v for v, _ in pairs) / len(pairs)
    return sum(v * w for v, w in pairs) / total


def _prf(y_true, y_pred, num_classes, average="macro", pos_label=1, zero_division=0.0, *,
         nan_for_zero_division=False, plain_mean=False, micro_as_macro=False, weighted_as_macro=False,
         pos_label_ignored=False, f1_from_pr=False):
    """Per-class scores from counts, then sklearn-style averaging, with optional mistakes."""
    c = num_classes
    cm = _cm(y_true, y_pred, c).tolist()
    tp = [cm[k][k] for k in range(c)]
    pred = [sum(cm[i][k] for i in range(c)) for k in range(c)]
    true = [sum(cm[k]) for k in range(c)]
    zd = math.nan if nan_for_zero_division else float(zero_division)
    if average == "binary":
        k = 1 if pos_label_ignored else pos_label
        tp, pred, true = [tp[k]], [pred[k]], [true[k]]
    elif average == "micro" and not micro_as_macro:
        tp, pred, true = [sum(tp)], [sum(pred)], [sum(true)]
    p = [_div(t, s, zd) for t, s in zip(tp, pred)]
    r = [_div(t, s, zd) for t, s in zip(tp, true)]
    if nan_for_zero_division:  # F1 from P and R, 0/0 -> NaN
        f = [2 * a * b / (a + b) if (a + b) != 0 else math.nan for a, b in zip(p, r)]
    elif f1_from_pr:  # F1 from the zero_division-patched P and R
        f = [2 * a * b / (a + b) if (a + b) != 0 else zd for a, b in zip(p, r)]
    else:
        f = [_div(2 * t, s1 + s2, zd) for t, s1, s2 in zip(tp, true, pred)]
    if average == "weighted" and not weighted_as_macro:
        w = [float(t) for t in true]
    else:
        w = [1.0] * len(p)
    ignore = not (plain_mean or nan_for_zero_division)
    return tuple(_f(_avg(v, w, ignore_nan=ignore)) for v in (p, r, f))


def _prf_zero_division_nan(y_true, y_pred, num_classes, average="macro", pos_label=1, zero_division=0.0):
    return _prf(y_true, y_pred, num_classes, average, pos_label, zero_division, nan_for_zero_division=True)


def _prf_nan_average(y_true, y_pred, num_classes, average="macro", pos_label=1, zero_division=0.0):
    return _prf(y_true, y_pred, num_classes, average, pos_label, zero_division, plain_mean=True)


def _prf_macro_for_micro(y_true, y_pred, num_classes, average="macro", pos_label=1, zero_division=0.0):
    return _prf(y_true, y_pred, num_classes, average, pos_label, zero_division, micro_as_macro=True)


def _prf_weighted_as_macro(y_true, y_pred, num_classes, average="macro", pos_label=1, zero_division=0.0):
    return _prf(y_true, y_pred, num_classes, average, pos_label, zero_division, weighted_as_macro=True)


def _prf_pos_label_ignored(y_true, y_pred, num_classes, average="macro", pos_label=1, zero_division=0.0):
    return _prf(y_true, y_pred, num_classes, average, pos_label, zero_division, pos_label_ignored=True)


def _prf_f1_from_pr(y_true, y_pred, num_classes, average="macro", pos_label=1, zero_division=0.0):
    return _prf(y_true, y_pred, num_classes, average, pos_label, zero_division, f1_from_pr=True)


# --------------------------------------------------------------------------- spec

_NAN = float("nan")

ASSIGNMENT = Assignment(
    id="metrics",
    position=7,
    title="Confusion matrix, precision, recall and F1",
    banned=("sklearn", "torchmetrics", "torcheval", "ignite.metrics", "keras.metrics",
            "tensorflow.keras.metrics"),
    functions=(
        Function(
            name="confusion_matrix",
            cases=(
                Case("random", _cm_case("random", 4, 20), dtypes=_F64, description="C=4, N=20"),
                Case("batch1", _cm_case("random", 3, 1), dtypes=_F64, description="a single sample"),
                Case("perfect", _cm_case("perfect", 5, 12), dtypes=_F64, description="y_pred == y_true"),
                Case("never_predicted", _cm_case("never_predicted", 4, 15), dtypes=_F64,
                     description="the last class is never predicted"),
                Case("absent_true", _cm_case("absent_true", 4, 15), dtypes=_F64,
                     description="class 0 never occurs in y_true"),
                Case("binary", _cm_case("random", 2, 10), dtypes=_F64, description="C=2"),
                Case("hidden_many", _cm_case("skewed", 7, 60), points=2.0, hidden=True, dtypes=_F64,
                     description="C=7, N=60, imbalanced"),
                Case("hidden_absent_both", _cm_case("absent_both", 6, 25), hidden=True, dtypes=_F64,
                     description="the last two classes occur nowhere"),
            ),
            mistakes=(
                Mistake(
                    "cm_transposed",
                    "Your confusion matrix is transposed: rows must be the TRUE class and columns the "
                    "PREDICTED class, C[i, j] = #{n : y_true[n] == i and y_pred[n] == j} (sklearn's "
                    "convention).",
                    _cm_transposed,
                    "rows = predicted, columns = true",
                ),
            ),
        ),
        Function(
            name="precision_recall_f1",
            cases=(
                Case("macro_random", _prf_case("random", 4, 30, average="macro"), dtypes=_F64,
                     description='average="macro", C=4, N=30'),
                Case("micro_random", _prf_case("skewed", 4, 30, average="micro"), dtypes=_F64,
                     description='average="micro", imbalanced'),
                Case("weighted_imbalanced", _prf_case("skewed", 5, 40, average="weighted", zero_division=1.0),
                     dtypes=_F64, description='average="weighted", imbalanced, zero_division=1.0'),
                Case("binary_pos1", _prf_case("skewed", 2, 20, average="binary"), dtypes=_F64,
                     description='average="binary", pos_label=1'),
                Case("binary_pos0", _prf_case("skewed", 2, 20, average="binary", pos_label=0), points=2.0,
                     dtypes=_F64, description='average="binary", pos_label=0'),
                Case("never_predicted", _prf_case("never_predicted", 4, 16, average="macro"), points=2.0,
                     dtypes=_F64, description="a class never predicted (precision 0/0), zero_division=0.0"),
                Case("zero_division_1", _prf_fixed([0, 0, 1, 2, 2, 3, 3], [1, 1, 0, 2, 0, 2, 2], 5,
                                                   average="macro", zero_division=1.0),
                     dtypes=_F64, description="tp = 0 classes, a never-predicted class, a class absent "
                                              "everywhere; zero_division=1.0"),
                Case("zero_division_nan",
                     _prf_case("absent_both", 5, 20, average="macro", zero_division=_NAN),
                     dtypes=_F64, description="classes absent from y_true and y_pred, zero_division=NaN"),
                Case("batch1", _prf_case("random", 3, 1, average="macro"), dtypes=_F64,
                     description="a single sample"),
                Case("perfect", _prf_case("perfect", 3, 12, average="weighted"), dtypes=_F64,
                     description="y_pred == y_true"),
                Case("hidden_weighted_nan", _prf_case("never_predicted", 5, 25, average="weighted",
                                                      zero_division=_NAN),
                     points=2.0, hidden=True, dtypes=_F64,
                     description='average="weighted", never-predicted class, zero_division=NaN'),
                Case("hidden_binary_pos0_no_pred",
                     _prf_fixed([0, 1, 0, 1, 1, 0], [1, 1, 1, 1, 1, 1], 2, average="binary", pos_label=0,
                                zero_division=_NAN),
                     hidden=True, dtypes=_F64,
                     description="binary, pos_label=0 never predicted, zero_division=NaN"),
            ),
            mistakes=(
                Mistake(
                    "prf_zero_division_nan",
                    "A 0/0 (a class never predicted, or absent from y_true) gives NaN in your scores. "
                    "Replace every 0/0 by zero_division (e.g. torch.where(den == 0, zero_division, "
                    "num / den.clamp(min=1))), and compute F1 as 2*tp / (2*tp + fp + fn) with the same rule.",
                    _prf_zero_division_nan,
                    "0/0 gives NaN instead of zero_division",
                ),
                Mistake(
                    "prf_nan_average",
                    "With zero_division=NaN, sklearn's averages ignore the NaN classes (like "
                    "torch.nanmean); your average lets the NaN propagate. Average over the non-NaN "
                    "entries only (NaN only if every entry is NaN).",
                    _prf_nan_average,
                    "NaN classes not ignored in the average",
                ),
                Mistake(
                    "prf_macro_for_micro",
                    'Your average="micro" computes the macro average. Micro-averaging sums tp, fp and fn '
                    "over all classes first and then divides once (with every class labelled, micro "
                    "precision = recall = F1 = accuracy).",
                    _prf_macro_for_micro,
                    "micro computed as macro",
                ),
                Mistake(
                    "prf_weighted_as_macro",
                    'Your average="weighted" is an unweighted mean. Weight each class\'s score by its '
                    "support (its number of true samples, the row sums of the confusion matrix) and "
                    "divide by the total support.",
                    _prf_weighted_as_macro,
                    "weighted computed as an unweighted mean",
                ),
                Mistake(
                    "prf_pos_label_ignored",
                    'With average="binary" you always score class 1. Score the class pos_label: '
                    "tp = C[pos_label, pos_label], fp = column pos_label minus tp, "
                    "fn = row pos_label minus tp.",
                    _prf_pos_label_ignored,
                    "binary always scores class 1",
                ),
                Mistake(
                    "prf_f1_from_pr",
                    "Your F1 comes from the zero_division-patched precision and recall, 2PR/(P+R). "
                    "sklearn computes F1 = 2*tp / (2*tp + fp + fn) and uses zero_division only when that "
                    "denominator is 0: a class with tp = 0 that was predicted or present has F1 = 0.",
                    _prf_f1_from_pr,
                    "F1 from patched precision and recall",
                ),
            ),
        ),
    ),
)
