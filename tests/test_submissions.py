"""Known-right and known-wrong submissions: the grader's verdicts are the product.

For every assignment:
* each correct submission under tests/submissions/correct/<id>/ (written in a
  style different from the reference; ``.py`` files and Jupyter notebooks)
  gets full marks;
* each buggy submission tests/submissions/buggy/<id>/<mistake id>.py loses
  marks, is diagnosed with exactly <mistake id> in every function whose spec
  lists that mistake, and fails no other function.

That every spec mistake has its buggy fixture (and the other way round) is
checked in tests/catalog/test_assignments.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.api import check
from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "tests" / "submissions"
CATALOG = load_catalog(ROOT / "reference")


# Buggy fixtures whose other functions call the broken one (so fail too), as a student's code would.
ALSO_FAILS = {"attention/attn_missing_scale": {"multi_head_attention"}}


def _files(kind: str) -> list[tuple[str, Path]]:
    out = []
    for d in sorted((SUBMISSIONS / kind).iterdir()):
        for f in sorted([*d.glob("*.py"), *(d.glob("*.ipynb") if kind == "correct" else [])]):
            out.append((d.name, f))
    return out


def _id(p) -> str:
    return f"{p[0]}/{p[1].stem}" + (".ipynb" if p[1].suffix == ".ipynb" else "")


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
    # One mistake per fixture: named in every function whose spec lists it, and failing no other function
    # (except where the fixture's other function calls the broken one, as a student's would: ALSO_FAILS).
    declared = {f.name for f in CATALOG.get(aid).functions if path.stem in {m.id for m in f.mistakes}}
    named_in = {c.function for c in failing if c.diagnosis and c.diagnosis.id == path.stem}
    assert declared <= named_in, f"{path.stem!r} is listed for {sorted(declared)} but named only in {sorted(named_in)}"
    extra = {c.function for c in failing} - declared - ALSO_FAILS.get(f"{aid}/{path.stem}", set())
    assert not extra, (f"{path.name} also fails {sorted(extra)}, whose spec does not list {path.stem!r}: a buggy "
                       "fixture carries exactly its one mistake")
    # A diagnosis is evidence-based: no case that passed carries one.
    assert not [c for c in r.cases() if c.passed and c.diagnosis]
