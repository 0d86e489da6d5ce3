"""Every assignment's spec, reference, stub and oracle, checked the same way.

Parametrized over the catalog (``reference/specs/*.py``): a new assignment is
covered as soon as its three files exist, with no new test code. The checks
themselves are :mod:`grader.catalog.lint` (also run by ``grade lint-spec`` and
``grade release``); fixtures are graded through the sandbox in
``tests/test_submissions.py``.  Two checks live here until the lint makes
them: every function has at least four cases, one of them hidden; and no two
known mistakes of a function give the same result on every case (else a
student matching one would be told the other).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.catalog.lint import indistinguishable_mistakes, lint_assignment
from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.mark.parametrize("aid", IDS)
def test_every_function_has_four_cases_one_hidden(aid):
    short = [f"{f.name} ({len(f.cases)} cases)" for f in CATALOG.get(aid).functions if len(f.cases) < 4]
    unhidden = [f.name for f in CATALOG.get(aid).functions if not any(c.hidden for c in f.cases)]
    assert not short, f"{aid}: functions with fewer than 4 cases: {short}"
    assert not unhidden, f"{aid}: functions without a hidden case: {unhidden}"


@pytest.mark.parametrize("aid", IDS)
def test_mistakes_are_distinguishable(aid):
    """Every two known mistakes of a function differ on some case."""
    same = indistinguishable_mistakes(CATALOG.get(aid), CATALOG.references[aid])
    assert not same, f"{aid}: mistakes that give the same result on every case (add a case that tells them " \
                     f"apart, or merge them): {same}"


def test_indistinguishable_mistakes_are_found():
    """The check is not vacuous: a plain, a random and a trajectory function with a mistake repeated under
    another id are reported (and only that pair)."""
    import dataclasses

    from grader.spec import Mistake

    for aid, fname in (("activations", "softmax"), ("layers", "dropout_forward"), ("optimizers", "sgd_step")):
        a = CATALOG.get(aid)
        f = a.function(fname)
        twin = Mistake("twin", "the same as another", f.mistakes[0].variant)
        broken = a.replace(functions=(dataclasses.replace(f, mistakes=(*f.mistakes, twin)),))
        assert indistinguishable_mistakes(broken, CATALOG.references[aid]) == [f"{fname}: {f.mistakes[0].id} and twin"]


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
