"""grader.batch.outputs and the Gradescope results it writes per entry (``<id>.results.json``)."""

from __future__ import annotations

import json

import pytest

from grader.batch.outputs import clean_temp_files, error_result_doc, outputs_fresh, render_reports, \
    write_entry_outputs
from grader.report.gradescope import to_gradescope
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


def test_gradescope_results_follow_the_documented_schema():
    doc = to_gradescope(_result())
    json.dumps(doc, allow_nan=False)
    assert doc["score"] == 1.0 and doc["execution_time"] == 3
    assert [t["status"] for t in doc["tests"]] == ["passed", "failed", "failed"]
    assert [t["visibility"] for t in doc["tests"]] == ["visible", "visible", "after_published"]
    assert [t["max_score"] for t in doc["tests"]] == [1.0, 2.0, 1.5]
    for t in doc["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "output", "visibility"}
    assert "softmax without the max shift" in doc["tests"][1]["output"]
    assert "[nan, nan]" in doc["tests"][1]["output"]
    assert doc["extra_data"]["assignments"]["activations"]["max_score"] == 4.5
    assert to_gradescope(_result(), hidden_visibility="hidden")["tests"][2]["visibility"] == "hidden"
    with pytest.raises(ValueError, match="hidden_visibility"):
        to_gradescope(_result(), hidden_visibility="secret")


def test_gradescope_results_of_an_ungradable_entry():
    r = GradeResult(submission="x.py", score=0.0, max_score=0.0, assignments=(), problems=("x.py: binary data",))
    doc = to_gradescope(r)
    assert doc["score"] == 0.0 and doc["tests"] == []
    assert "could not be graded" in doc["output"] and "binary data" in doc["output"]


def test_entry_outputs_written_fresh_and_temp_files_cleaned(tmp_path):
    doc = error_result_doc("x.py", "x.py: binary data")
    assert doc["status"] == "error" and doc["problems"] == ["x.py: binary data"] and doc["submission"] == "x.py"
    html, gs = render_reports(doc, title="grade report: x")
    assert html.startswith("<!doctype html>") and "binary data" in gs["output"]
    assert not outputs_fresh(tmp_path, "x", doc)
    write_entry_outputs(tmp_path, "x", doc, html, gs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.html", "x.json", "x.results.json"]
    assert json.loads((tmp_path / "x.json").read_text()) == doc
    assert outputs_fresh(tmp_path, "x", doc)
    assert not outputs_fresh(tmp_path, "x", doc | {"score": 1.0})  # a changed document is rewritten
    (tmp_path / ".x.json.abc123").write_text("half")  # left by an atomic write killed midway
    clean_temp_files(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.html", "x.json", "x.results.json"]
