"""Notes (notebook cells skipped or failed, passes that needed the scale-aware tolerance) reach every report."""

from __future__ import annotations

import io
import json

from rich.console import Console

from grader.report.html import render_html
from grader.report.junit import render_junit
from grader.report.summary import render_summary
from grader.report.terminal import print_result
from grader.results import AssignmentResult, CaseResult, GradeResult

CELL = "cell 7: skipped: `%%bash` cells are not run (it runs a shell script); only Python cells are graded."
RAISED = "cell 9, line 3: IndexError: list index out of range (the cells after it ran)"
SCALE = ("within tolerance; your values differ by up to 2e-09 where the expected value is close to 0 "
         "(output[1, 1]: expected 0, got -2e-09) — an epsilon in a denominator or inside a log?")


def _result() -> GradeResult:
    ok = CaseResult(id="large_1e4", function="cross_entropy_grad", dtype="float64", device="cpu", status="passed",
                    score=1.0, max_score=1.0, notes=(SCALE,))
    again = CaseResult(id="hidden_huge", function="cross_entropy_grad", dtype="float64", device="cpu",
                       status="passed", score=1.0, max_score=1.0, notes=(SCALE.replace("2e-09", "3e-09"),))
    plain = CaseResult(id="small", function="cross_entropy_grad", dtype="float32", device="cpu", status="passed",
                       score=1.0, max_score=1.0)
    a = AssignmentResult(id="cross_entropy", title="CE", status="passed", score=3.0, max_score=3.0,
                         cases=(plain, ok, again), notes=(CELL, RAISED), source_file="hw.ipynb")
    return GradeResult(submission="hw.ipynb", score=3.0, max_score=3.0, assignments=(a,))


def test_notes_are_the_assignments_then_each_kind_of_case_note_once_per_function():
    from grader.report.format import assignment_notes

    a = _result().assignments[0]
    assert assignment_notes(a) == [CELL, RAISED, f"cross_entropy_grad: {SCALE}"]


def test_terminal_shows_notes_even_when_everything_passed():
    buf = io.StringIO()
    print_result(_result(), console=Console(file=buf, width=400, highlight=False))
    text = buf.getvalue()
    for s in (CELL, RAISED, SCALE):
        assert s in text


def test_html_shows_notes_and_the_passed_case_note():
    page = render_html(_result())
    assert "`%%bash` cells are not run" in page and "cell 9, line 3: IndexError" in page
    assert "an epsilon in a denominator" in page


def test_json_keeps_notes_through_a_roundtrip():
    doc = json.loads(json.dumps(_result().to_dict()))
    assert doc["assignments"][0]["notes"] == [CELL, RAISED]
    assert GradeResult.from_dict(doc).assignments[0].notes == (CELL, RAISED)


def test_junit_and_summary_show_notes():
    xml = render_junit(_result(), notice="")
    assert "cell 9, line 3: IndexError" in xml and "an epsilon in a denominator" in xml
    md = render_summary(_result())
    assert "### Notes (3)" in md and "cell 7: skipped" in md


def test_gradescope_shows_notes():
    from grader.report.gradescope import to_gradescope

    doc = to_gradescope(_result())
    assert "note: cell 7: skipped" in doc["output"] and "note: cell 9, line 3" in doc["output"]
    assert any("note: within tolerance" in t["output"] for t in doc["tests"])
