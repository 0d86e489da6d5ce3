"""Known-right and known-wrong submissions: the grader's verdicts are the product.

For every assignment:
* each correct submission under tests/submissions/correct/<id>/ (written in a
  style different from the reference; ``.py`` files and Jupyter notebooks)
  gets full marks;
* each buggy submission tests/submissions/buggy/<id>/<mistake id>.py loses
  marks, and some failing case's diagnosis names exactly <mistake id>.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.api import check, get_worker
from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "tests" / "submissions"
CATALOG = load_catalog(ROOT / "reference")


def _files(kind: str) -> list[tuple[str, Path]]:
    out = []
    for d in sorted((SUBMISSIONS / kind).iterdir()):
        for f in sorted([*d.glob("*.py"), *(d.glob("*.ipynb") if kind == "correct" else [])]):
            out.append((d.name, f))
    return out


def _id(p) -> str:
    return f"{p[0]}/{p[1].stem}" + (".ipynb" if p[1].suffix == ".ipynb" else "")


@pytest.fixture(scope="module")
def worker():
    return get_worker(reference_dir=ROOT / "reference")


def test_every_assignment_has_fixtures():
    for a in CATALOG.assignments:
        correct = list((SUBMISSIONS / "correct" / a.id).glob("*.py"))
        buggy = {p.stem for p in (SUBMISSIONS / "buggy" / a.id).glob("*.py")}
        assert len(correct) >= 2, f"{a.id}: needs at least two correct submissions in other styles"
        mistakes = {m.id for f in a.functions for m in f.mistakes}
        assert mistakes, f"{a.id}: the spec names no known mistakes"
        assert buggy, f"{a.id}: no buggy submissions"
        assert buggy <= mistakes, f"{a.id}: buggy fixtures {buggy - mistakes} name no Mistake of the spec"


@pytest.mark.parametrize("item", _files("correct"), ids=_id)
def test_correct_submission_gets_full_marks(item, worker):
    aid, path = item
    r = check(path, assignments=(aid,), device="cpu", worker=worker, catalog=CATALOG)
    bad = [f"{c.key}: {c.status}: {c.message[:300]}" for c in r.cases() if not c.passed]
    assert not bad, "\n".join(bad)
    assert r.score == pytest.approx(r.max_score) and r.max_score > 0


@pytest.mark.parametrize("item", _files("buggy"), ids=_id)
def test_buggy_submission_is_caught_and_named(item, worker):
    aid, path = item
    r = check(path, assignments=(aid,), device="cpu", worker=worker, catalog=CATALOG)
    assert r.score < r.max_score, f"{path.name} got full marks"
    failing = [c for c in r.cases() if not c.passed]
    assert all(c.status in ("failed", "error") for c in failing), {c.status for c in failing}
    named = {c.diagnosis.id for c in failing if c.diagnosis}
    assert path.stem in named, f"expected diagnosis {path.stem!r}, got {sorted(named)}"
    # A diagnosis is evidence-based: no case that passed carries one.
    assert not [c for c in r.cases() if c.passed and c.diagnosis]
