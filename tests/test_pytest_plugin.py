"""The pytest plugin: ``pytest --grade PATH`` collects one item per case, dtype and device, with the
verdicts of ``grade check`` (same engine)."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
BUGGY = ROOT / "tests" / "submissions" / "buggy" / "activations" / "softmax_no_max_shift.py"
REFERENCE = ROOT / "reference"


def test_registered_as_a_pytest11_entry_point():
    eps = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert eps.get("grade") == "grader.pytest_plugin", \
        "the package's pytest11 entry point is missing: reinstall with `pip install -e .`"


@pytest.fixture
def submission(tmp_path) -> Path:
    d = tmp_path / "sub"
    d.mkdir()
    (d / "activations.py").write_text(BUGGY.read_text())
    return d


def _args(sub: Path, *extra: str) -> list[str]:
    return ["--grade", str(sub), "--grade-assignment", "activations", "--grade-device", "cpu",
            "--grade-reference", str(REFERENCE), "-p", "no:cacheprovider", *extra]


def test_items_and_verdicts_match_grade_check(pytester, submission, grade):
    expected = grade(submission, "activations")
    runs = [(c, r) for c in expected.cases() for r in c.runs]
    n_pass = sum(r.status == "passed" and c.status != "banned" for c, r in runs)
    n_fail = len(runs) - n_pass
    assert n_fail > 0 and n_pass > 0

    res = pytester.runpytest_inprocess(*_args(submission, "-rf"))
    res.assert_outcomes(passed=n_pass, failed=n_fail)
    out = res.stdout.str()
    assert "activations.softmax::large_1e4[float32-cpu]" in out
    assert "Likely mistake: softmax without the max shift" in out
    assert f"grade: {expected.score:g}/{expected.max_score:g} points" in out
    assert res.ret == pytest.ExitCode.TESTS_FAILED


def test_k_and_m_select_grade_items(pytester, submission, grade):
    softmax = [c for c in grade(submission, "activations").cases() if c.function == "softmax"]
    n_pass = sum(c.passed for c in softmax)
    (pytester.path / "test_other.py").write_text("def test_other():\n    assert True\n")
    res = pytester.runpytest_inprocess(*_args(submission, "-m", "grade", "-k", "softmax and not jacobian "
                                                                              "and not backward"))
    res.assert_outcomes(passed=n_pass, failed=len(softmax) - n_pass)  # test_other is deselected by -m grade
    assert res.parseoutcomes().get("deselected", 0) > 0


def test_without_grade_the_plugin_is_inert(pytester):
    (pytester.path / "test_other.py").write_text("def test_other():\n    assert True\n")
    res = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    res.assert_outcomes(passed=1)
    assert "grade:" not in res.stdout.str()


def test_unknown_assignment_is_a_usage_error(pytester, submission):
    res = pytester.runpytest_inprocess("--grade", str(submission), "--grade-assignment", "nope",
                                       "--grade-reference", str(REFERENCE))
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown assignment 'nope'" in res.stderr.str()
