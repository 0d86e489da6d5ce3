"""grader.judge.diagnose.reconcile: when two known mistakes match one case, the function's other
cases decide (in-process: the fixtures are trusted code here, run directly on every case)."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest

from grader.catalog.project import load_catalog
from grader.judge.compare import compare
from grader.judge.diagnose import Evidence, diagnose, reconcile, variant_outputs
from grader.sandbox.wire import roundtrip

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
BUGGY = ROOT / "tests" / "submissions" / "buggy"


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"_fixture_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _evidence(aid: str, fname: str, module) -> tuple[list[Evidence], object]:
    a = CATALOG.get(aid)
    f = a.function(fname)
    out = []
    for inst in CATALOG.instances(a, f, include_hidden=True):
        args = copy.deepcopy(inst.call.args)
        kwargs = copy.deepcopy(dict(inst.call.kwargs))
        try:
            got, ok = roundtrip(getattr(module, fname)(*args, **kwargs)), True
        except Exception:  # noqa: BLE001 - an error case gives no output
            got, ok = None, False
        tol = a.tolerance_for(f, inst.case, inst.dtype)
        variants = variant_outputs(f, inst.call)
        mism = compare(inst.expected, got, tol=tol) if ok else []
        diag = diagnose(f, inst.inputs, inst.expected, got, mism, tol, variants) if mism else None
        out.append(Evidence(expected=inst.expected, got=got, has_output=ok, tol=tol, variants=variants,
                            diagnosis=diag))
    return out, f


@pytest.mark.parametrize("aid, fname, stem, rival", [
    ("cross_entropy", "cross_entropy", "ce_log_of_softmax", "ce_no_logsumexp_shift"),
    ("cross_entropy", "cross_entropy", "ce_no_logsumexp_shift", "ce_log_of_softmax"),
    ("metrics", "precision_recall_f1", "prf_f1_from_pr", "prf_zero_division_nan"),
    ("metrics", "precision_recall_f1", "prf_nan_average", "prf_zero_division_nan"),
])
def test_the_mistake_every_case_agrees_with_is_named(aid, fname, stem, rival):
    evidence, f = _evidence(aid, fname, _load(BUGGY / aid / f"{stem}.py"))
    before = {e.diagnosis.id for e in evidence if e.diagnosis}
    after = {d.id for d in reconcile(f, evidence) if d}
    assert after == {stem}, (before, after)
    if stem != "ce_no_logsumexp_shift":
        assert rival in before  # the per-case diagnosis alone was ambiguous: reconcile is not vacuous


def test_reconcile_keeps_single_matches_and_passes():
    a = CATALOG.get("activations")
    evidence, f = _evidence("activations", "softmax", _load(BUGGY / "activations" / "softmax_wrong_dim.py"))
    assert [d.id if d else None for d in reconcile(f, evidence)] == \
           [e.diagnosis.id if e.diagnosis else None for e in evidence]
    assert a.function("softmax") is f
