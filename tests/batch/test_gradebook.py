"""grader.batch.gradebook (rows and CSV text) and the class report written next to it."""

from __future__ import annotations

import pytest

from grader.batch.gradebook import gradebook_rows, gradebook_text, read_gradebook, write_gradebook
from grader.batch.records import Entry, Row
from grader.report.classreport import class_stats, render_class_report, summarize
from grader.results import AssignmentResult, CaseResult, Diagnosis, GradeResult


def _result() -> GradeResult:
    diag = Diagnosis("softmax_no_max_shift", "softmax without the max shift", "subtract the max")
    cases = (
        CaseResult(id="small", function="softmax", dtype="float32", device="cpu", status="passed", score=1.0,
                   max_score=1.0, description="4x6"),
        CaseResult(id="large", function="softmax", dtype="float32", device="cpu", status="failed", score=0.0,
                   max_score=2.0, message="5 elements are NaN", diagnosis=diag, expected_excerpt="[1, 0]",
                   got_excerpt="[nan, nan]"),
        CaseResult(id="hidden_big", function="softmax", dtype="float64", device="cpu", status="error", score=0.0,
                   max_score=1.5, message="raised", hidden=True),
    )
    a = AssignmentResult(id="activations", title="Activations", status="failed", score=1.0, max_score=4.5,
                         cases=cases)
    return GradeResult(submission="bob.py", score=1.0, max_score=4.5, assignments=(a,), seconds=2.6,
                       versions={"grade": "0.1.0", "torch": "2.13.0"})


def test_gradebook_text_blank_scores_for_errors():
    entries = [Entry(id="bob", name="bob.py", kind="py"), Entry(id="zed", name="zed.py", kind="py")]
    docs = {"bob": {"status": "failed", "score": 1.0, "max_score": 4.5,
                    "assignments": [{"id": "activations", "score": 1.0}]}}
    rows = gradebook_rows(entries, docs, {"zed": "zed.py: binary data\nmore"}, ("activations",))
    assert rows[1] == Row(id="zed", name="", lms_id="", entry="zed.py", late=False, scores=(("activations", None),),
                          total=None, max_total=None, status="error", reason="zed.py: binary data")
    text = gradebook_text(rows, ("activations",))
    assert text.splitlines() == ["id,name,lms_id,entry,late,activations,total,max_total,status,reason",
                                 "bob,,,bob.py,,1,1,4.5,failed,", "zed,,,zed.py,,,,,error,zed.py: binary data"]


def test_gradebook_file_round_trip(tmp_path):
    entries = [Entry(id="ann", name="Ann Lee_7", kind="files", source="moodle", student_name="Ann Lee, Jr.",
                     lms_id="7", late=True)]
    docs = {"ann": {"status": "passed", "score": 43.5, "max_score": 72.0,
                    "assignments": [{"id": "activations", "score": 43.5}]}}
    rows = gradebook_rows(entries, docs, {}, ("activations", "cross_entropy"))
    path = write_gradebook(tmp_path / "gradebook.csv", rows, ("activations", "cross_entropy"))
    assert path.read_text(encoding="utf-8") == gradebook_text(rows, ("activations", "cross_entropy"))
    assert read_gradebook(path) == [{"id": "ann", "name": "Ann Lee, Jr.", "lms_id": "7", "entry": "Ann Lee_7",
                                     "late": "yes", "activations": "43.5", "cross_entropy": "", "total": "43.5",
                                     "max_total": "72", "status": "passed", "reason": ""}]


def test_class_report_stats_and_page():
    good = summarize(_result().to_dict(), id="bob")
    err = summarize({"status": "error", "submission": "x.py", "problems": ["x.py: binary"], "score": 0,
                     "max_score": 0, "assignments": []}, id="x", error="x.py: binary")
    stats = class_stats([good, good | {"id": "bob2"}, err], assignments=("activations",))
    assert (stats["n"], stats["graded"], stats["errors"]) == (3, 2, 1)
    assert stats["mean_pct"] == pytest.approx(100 * 1.0 / 4.5)
    assert stats["assignments"][0]["pass_rate"] == 0.0
    assert stats["cases"][0]["pass_rate"] == 0.0 and stats["cases"][-1]["key"] == "activations/softmax/small/float32"
    assert stats["diagnoses"][0]["id"] == "softmax_no_max_shift" and stats["diagnoses"][0]["submissions"] == 2
    page = render_class_report(summaries=[good, err], assignments=("activations",))
    assert page.count("data:image/png;base64,") >= 3  # histogram, assignments, cases (+ diagnoses)
    assert "softmax without the max shift" in page and "x.py: binary" in page
    assert "http://" not in page and "https://" not in page  # self-contained
