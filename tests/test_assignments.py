"""Every assignment's spec, reference, stub and oracle, checked the same way.

Parametrized over the catalog (``reference/specs/*.py``): a new assignment is
covered as soon as its three files exist, with no new test code. The checks
themselves are :mod:`grader.catalog.lint` (also run by ``grade lint-spec`` and
``grade release``); fixtures are graded through the sandbox in
``tests/test_submissions.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.catalog.lint import lint_assignment
from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(ROOT / "reference")
IDS = [a.id for a in CATALOG.assignments]


def _stub(aid: str):
    import importlib.util

    path = ROOT / "assignments" / f"{aid}.py"
    spec = importlib.util.spec_from_file_location(f"_stub_{aid}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("aid", IDS)
def test_spec_is_sound(aid):
    """lint-spec finds nothing: signatures, stub, cases, banned, mistakes, properties, gradient checks, oracles."""
    a = CATALOG.get(aid)
    problems = lint_assignment(a, CATALOG.references[aid], stub=_stub(aid), oracles=True)
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("aid", IDS)
def test_assignment_has_fixtures(aid):
    """At least two correct styles, and every buggy fixture names a mistake of the spec."""
    sub = ROOT / "tests" / "submissions"
    a = CATALOG.get(aid)
    correct = list((sub / "correct" / aid).glob("*.py")) + list((sub / "correct" / aid).glob("*.ipynb"))
    buggy = {p.stem for p in (sub / "buggy" / aid).glob("*.py")}
    mistakes = {m.id for f in a.functions for m in f.mistakes}
    assert len(correct) >= 2, f"{aid}: needs at least two correct submissions in other styles"
    assert mistakes, f"{aid}: the spec names no known mistakes"
    assert buggy <= mistakes, f"{aid}: buggy fixtures {sorted(buggy - mistakes)} name no Mistake of the spec"
    assert mistakes <= buggy, f"{aid}: mistakes {sorted(mistakes - buggy)} have no buggy fixture"


def test_lint_catches_a_broken_spec():
    """The lint is not vacuous: a mistake equal to the reference, and a reference using a banned call, are reported."""
    import dataclasses

    from grader.spec import Mistake

    a = CATALOG.get("activations")
    ref = CATALOG.references["activations"]
    f = a.function("sigmoid")
    same = Mistake("same_as_reference", "never differs", ref.sigmoid)
    broken = a.replace(functions=(dataclasses.replace(f, mistakes=(same,)),),
                       banned=(*a.banned, "torch.exp"))
    checks = {p.check for p in lint_assignment(broken, ref)}
    assert {"mistake", "banned"} <= checks

    class Mutating:  # a reference that modifies its input in place
        @staticmethod
        def sigmoid(x):
            out = ref.sigmoid(x.clone())
            x.mul_(2)
            return out

    assert "inputs" in {p.check for p in lint_assignment(a.replace(functions=(f,)), Mutating())}
