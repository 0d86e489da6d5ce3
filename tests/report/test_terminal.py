"""grader.report.terminal: what a student reads in the terminal."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from grader.report import print_result
from grader.results import AssignmentResult, CaseResult, Diagnosis, GradeResult


def _render(result, **kw) -> str:
    buf = io.StringIO()
    print_result(result, console=Console(file=buf, width=240, highlight=False, color_system=None), **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def buggy_text(grade, repo_root):
    r = grade(repo_root / "tests" / "submissions" / "buggy" / "activations" / "softmax_no_max_shift.py", "activations")
    return _render(r)


def test_score_table_and_total(buggy_text):
    for row in ("sigmoid ", "softmax ", "softmax_jacobian", "softmax_backward"):
        assert row in buggy_text
    assert "12/18" in buggy_text and "6/12" in buggy_text
    assert "Total: 42/48" in buggy_text


def test_failing_case_shows_message_excerpt_and_likely_mistake(buggy_text):
    text = buggy_text
    assert "• softmax: 12/18 cases passed" in text
    assert "large_1e4 [float32] — logits ~ N(0, 1e4^2)" in text
    assert "output: 5 of 18 elements are NaN or Inf where finite values were expected; first at [0, 4]" in text
    assert "    expected [0, 0:6] = [0., 0., 0., 0., 1., 0.]" in text
    assert "    got      [0, 0:6] = [ 0.,  0.,  0.,  0., nan,  0.]" in text
    assert "    Likely mistake: softmax without the max shift. Your softmax overflows for large inputs" in text
    # Every other failing case still gets (at least) one line.
    for case in ("large_1e4 [float64]", "mixed_rows [float32]", "mixed_rows [float64]",
                 "hidden_dim0_3d [float32] (hidden)", "hidden_dim0_3d [float64] (hidden)"):
        assert case in text, case
    assert text.count("Likely mistake") == 1  # one full explanation per distinct mistake, not one per case
    assert "Traceback" not in text


def test_passed_functions_get_no_details(buggy_text):
    details = buggy_text.split("activations ─", 1)[-1]
    assert "• sigmoid" not in details and "• softmax_backward" not in details


def test_verbose_shows_every_failing_case_in_full(grade, repo_root):
    r = grade(repo_root / "tests" / "submissions" / "buggy" / "activations" / "softmax_no_max_shift.py", "activations")
    text = _render(r, verbose=True)
    shown = [c for c in r.cases() if not c.passed and c.expected_excerpt]  # hidden cases show no values
    assert len(shown) >= 4 and not any(c.expected_excerpt for c in r.cases() if c.hidden)
    assert text.count("    expected ") == len(shown) and text.count("    got      ") == len(shown)


def test_not_implemented_is_one_line_per_function_without_tracebacks(grade, repo_root):
    text = _render(grade(repo_root / "assignments", "activations"))
    lines = [ln for ln in text.splitlines() if ln.startswith("• ")]
    assert [ln.split(":")[0] for ln in lines] == ["• sigmoid", "• sigmoid_grad", "• softmax", "• softmax_jacobian",
                                                  "• softmax_backward"]
    assert all("not implemented" in ln for ln in lines)
    assert "Traceback" not in text and "expected " not in text
    assert "Total: 0/48" in text


def _case(status, message="", **kw) -> CaseResult:
    return CaseResult(id=kw.pop("id", "small"), function=kw.pop("function", "f"), dtype="float32", device="cpu",
                      status=status, score=0.0, max_score=1.0, message=message, **kw)


def _result(*cases, status="failed", message="", problems=()) -> GradeResult:
    a = AssignmentResult(id="demo", title="Demo", status=status, score=0.0, max_score=float(len(cases)),
                         cases=tuple(cases), message=message, output=(("f", "hi\n[grade: your code printed 2 MB; "
                                                                        "kept the first 64 KB]"),))
    return GradeResult(submission="sub", score=0.0, max_score=a.max_score, assignments=(a,),
                       versions={"grade": "0.1.0"}, problems=problems)


@pytest.mark.parametrize("status, message, shown", [
    ("error", "your code raised an exception:\nTraceback (your code, most recent call last):\n  File \"a.py\", "
              "line 3, in f\nZeroDivisionError: division by zero", "ZeroDivisionError: division by zero"),
    ("timeout", "timed out after 2 s (the limit for this case).", "timed out after 2 s"),
    ("banned", "uses a routine you must write by hand: torch.softmax (line 3: return torch.softmax(x))",
     "torch.softmax (line 3"),
])
def test_other_statuses_show_their_message(status, message, shown):
    text = _render(_result(_case(status, message)))
    assert shown in text
    assert status in text


def test_student_text_is_not_interpreted_as_markup():
    text = _render(_result(_case("failed", "got [bold red]x[/] and [link=http://x]y[/link]",
                                 diagnosis=Diagnosis("d", "a [b] title", "hint [/]"))))
    assert "got [bold red]x[/] and [link=http://x]y[/link]" in text
    assert "Likely mistake: a [b] title. hint [/]" in text


def test_problems_hidden_note_and_truncated_output_are_shown():
    text = _render(_result(_case("failed", "bad"), problems=("spec broken",)), hidden_note="3 hidden cases later")
    assert "problem: spec broken" in text
    assert "3 hidden cases later" in text
    assert "f: [grade: your code printed 2 MB; kept the first 64 KB]" in text


def test_assignment_level_error_shows_its_message_once():
    text = _render(_result(_case("error", "SyntaxError in demo.py at line 3"), status="error",
                           message="SyntaxError in demo.py at line 3: invalid syntax"))
    assert text.count("SyntaxError in demo.py at line 3: invalid syntax") == 1
