"""The metrics reference against scikit-learn (the oracle): confusion_matrix and
precision_recall_fscore_support with labels=range(num_classes)."""

from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path

import pytest
import torch

sklearn_metrics = pytest.importorskip("sklearn.metrics")

_spec = importlib.util.spec_from_file_location("_refcheck_metrics", Path(__file__).with_name("_refcheck.py"))
rc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rc)

ref, ASSIGNMENT = rc.load_pair("metrics")

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


def test_inputs_not_modified():
    yt, yp = _labels(0, 4, 12, "noisy")
    a, b = yt.clone(), yp.clone()
    ref.confusion_matrix(yt, yp, 4)
    for avg in ("micro", "macro", "weighted"):
        ref.precision_recall_f1(yt, yp, 4, average=avg, zero_division=float("nan"))
    assert torch.equal(yt, a) and torch.equal(yp, b)


def test_reference_obeys_banned_list():
    assert rc.static_hits(rc.ROOT / "reference" / "metrics.py", ASSIGNMENT.banned) == []


def test_spec_cases_match_sklearn():
    """Every precision_recall_f1 case of the spec, checked against sklearn directly."""
    for case in ASSIGNMENT.function("precision_recall_f1").cases:
        for seed in (0, 1, 123):
            c = case.make(torch.Generator().manual_seed(seed), torch.float64)
            yt, yp, k = c.args
            kw = dict(c.kwargs)
            got = ref.precision_recall_f1(yt, yp, k, **kw)
            expected = _sk(yt, yp, k, kw.get("average", "macro"), kw.get("pos_label", 1),
                           kw.get("zero_division", 0.0))
            assert all(_same(a, b) for a, b in zip(got, expected)), (case.id, got, expected)


def test_spec_cases_and_mistakes():
    assert rc.check_spec(ref, ASSIGNMENT) == []


def test_required_mistakes_and_cases_present():
    ids = {m.id for f in ASSIGNMENT.functions for m in f.mistakes}
    assert {"cm_transposed", "prf_zero_division_nan", "prf_macro_for_micro", "prf_weighted_as_macro",
            "prf_pos_label_ignored"} <= ids
    for f in ASSIGNMENT.functions:
        assert any(c.hidden for c in f.cases)
        assert all(c.dtypes == ("float64",) for c in f.cases)
    averages = set()
    for case in ASSIGNMENT.function("precision_recall_f1").cases:
        kw = dict(case.make(torch.Generator().manual_seed(0), torch.float64).kwargs)
        averages.add(kw.get("average", "macro"))
    assert averages == {"binary", "micro", "macro", "weighted"}
