"""The metrics reference against scikit-learn (the oracle): confusion_matrix and
precision_recall_fscore_support with labels=range(num_classes), on many label draws and on the spec's
cases (the spec itself names no oracle)."""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path

import pytest
import torch

from grader.catalog.lint import check_oracle
from grader.catalog.project import load_catalog

sklearn_metrics = pytest.importorskip("sklearn.metrics")

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
ref = CATALOG.references["metrics"]
ASSIGNMENT = CATALOG.get("metrics")

ZERO_DIVISIONS = [0.0, 1.0, float("nan")]


def _labels(seed, c, n, kind):
    g = torch.Generator().manual_seed(seed)
    yt = torch.randint(0, c, (n,), generator=g)
    if kind == "noisy":
        yp = torch.where(torch.rand(n, generator=g) < 0.5, yt, torch.randint(0, c, (n,), generator=g))
    elif kind == "uniform":
        yp = torch.randint(0, c, (n,), generator=g)
    elif kind == "never_predicted":
        yp = torch.randint(0, max(c - 1, 1), (n,), generator=g)
    elif kind == "absent_true":
        yt = torch.randint(min(1, c - 1), c, (n,), generator=g)
        yp = torch.randint(0, c, (n,), generator=g)
    elif kind == "perfect":
        yp = yt.clone()
    elif kind == "constant":
        yp = torch.full((n,), c - 1)
        yt = torch.zeros(n, dtype=torch.int64)
    else:
        raise ValueError(kind)
    return yt, yp


def _sk(yt, yp, c, average, pos_label, zd):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f, _ = sklearn_metrics.precision_recall_fscore_support(
            yt.numpy(), yp.numpy(), labels=list(range(c)), average=average, pos_label=pos_label,
            zero_division=zd)
    return p, r, f


def _same(a: torch.Tensor, b: float) -> bool:
    a = float(a)
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


KINDS = ["noisy", "uniform", "never_predicted", "absent_true", "perfect", "constant"]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("c,n", [(2, 1), (3, 1), (3, 5), (4, 30), (7, 20)])
def test_confusion_matrix_matches_sklearn(seed, kind, c, n):
    yt, yp = _labels(seed, c, n, kind)
    got = ref.confusion_matrix(yt, yp, c)
    assert got.dtype == torch.int64 and got.shape == (c, c)
    expected = sklearn_metrics.confusion_matrix(yt.numpy(), yp.numpy(), labels=list(range(c)))
    assert got.tolist() == expected.tolist()


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("c,n", [(3, 1), (3, 6), (4, 30), (6, 15)])
@pytest.mark.parametrize("average", ["micro", "macro", "weighted"])
@pytest.mark.parametrize("zd", ZERO_DIVISIONS)
def test_multiclass_averages_match_sklearn(seed, kind, c, n, average, zd):
    yt, yp = _labels(seed, c, n, kind)
    got = ref.precision_recall_f1(yt, yp, c, average=average, zero_division=zd)
    assert all(isinstance(v, torch.Tensor) and v.shape == () and v.dtype == torch.float64 for v in got)
    expected = _sk(yt, yp, c, average, 1, zd)
    assert all(_same(a, b) for a, b in zip(got, expected)), (got, expected)


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [1, 2, 7, 25])
@pytest.mark.parametrize("pos_label", [0, 1])
@pytest.mark.parametrize("zd", ZERO_DIVISIONS)
def test_binary_matches_sklearn(seed, kind, n, pos_label, zd):
    yt, yp = _labels(seed, 2, n, kind)
    got = ref.precision_recall_f1(yt, yp, 2, average="binary", pos_label=pos_label, zero_division=zd)
    expected = _sk(yt, yp, 2, "binary", pos_label, zd)
    assert all(_same(a, b) for a, b in zip(got, expected)), (got, expected)


@pytest.mark.parametrize("zd", ZERO_DIVISIONS)
def test_all_negative_binary_and_default_arguments(zd):
    yt = torch.zeros(4, dtype=torch.int64)
    yp = torch.zeros(4, dtype=torch.int64)
    got = ref.precision_recall_f1(yt, yp, 2, average="binary", zero_division=zd)
    assert all(_same(a, b) for a, b in zip(got, _sk(yt, yp, 2, "binary", 1, zd)))
    yt, yp = _labels(3, 4, 20, "noisy")
    got = ref.precision_recall_f1(yt, yp, 4)
    assert all(_same(a, b) for a, b in zip(got, _sk(yt, yp, 4, "macro", 1, 0.0)))


def _oracle_confusion_matrix(y_true, y_pred, num_classes):
    cm = sklearn_metrics.confusion_matrix(y_true.numpy(), y_pred.numpy(), labels=list(range(num_classes)))
    return torch.as_tensor(cm, dtype=torch.int64)


def _oracle_precision_recall_f1(y_true, y_pred, num_classes, average="macro", pos_label=1, zero_division=0.0):
    prf = _sk(y_true, y_pred, num_classes, average, pos_label, zero_division)
    return tuple(torch.tensor(float(v), dtype=torch.float64) for v in prf)


_ORACLES = {"confusion_matrix": _oracle_confusion_matrix, "precision_recall_f1": _oracle_precision_recall_f1}


@pytest.mark.parametrize("function", ASSIGNMENT.functions, ids=lambda f: f.name)
def test_spec_cases_match_sklearn(function):
    """The spec names no oracle (sklearn is a test-only library): every case and three more draws, as
    ``lint-spec --oracles`` would check them."""
    problems = check_oracle(ASSIGNMENT, dataclasses.replace(function, oracle=_ORACLES[function.name]), ref,
                            extra_seeds=3)
    assert not problems, "\n".join(map(str, problems))


def test_spec_cases_cover_every_average_in_float64():
    for f in ASSIGNMENT.functions:
        assert all(c.dtypes == ("float64",) for c in f.cases)
    averages = set()
    for case in ASSIGNMENT.function("precision_recall_f1").cases:
        kw = dict(case.make(torch.Generator().manual_seed(0), torch.float64).kwargs)
        averages.add(kw.get("average", "macro"))
    assert averages == {"binary", "micro", "macro", "weighted"}
