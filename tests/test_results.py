"""grader.results: the result records and the ``--json`` schema documented in the README."""

from __future__ import annotations

import json
import re

import pytest

from grader.results import (STATUSES, AssignmentResult, CaseResult, DeviceRun, Diagnosis, GradeResult,
                            SCHEMA_VERSION)


def _readme_example(repo_root) -> dict:
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    m = re.search(r"## JSON result.*?```json\n(.*?)```", text, re.S)
    assert m, "README has no '## JSON result' section with a ```json example"
    return json.loads(m.group(1))


def _result() -> GradeResult:
    diag = Diagnosis(id="softmax_no_max_shift", title="softmax without the max shift", hint="Subtract the max.",
                     evidence="your output matches the known-wrong variant")
    failed = CaseResult(
        id="large_1e4", function="softmax", dtype="float32", device="cpu", status="failed", score=0.0,
        max_score=2.0, message="output: 5 of 18 elements are NaN or Inf", diagnosis=diag,
        description="logits ~ N(0, 1e4^2)", hidden=False, expected_excerpt="[0, 0:6] = [0., 1.]",
        got_excerpt="[0, 0:6] = [0., nan]", banned=(), violations=(),
        runs=(DeviceRun("cpu", "failed", "output: 5 of 18 ...", 0.0004, "[0., 1.]", "[0., nan]"),), seconds=0.0004)
    passed = CaseResult(id="small", function="softmax", dtype="float64", device="cpu", status="passed", score=0.75,
                        max_score=0.75, runs=(DeviceRun("cpu", "passed", "", 0.0001),), seconds=0.0001)
    banned = CaseResult(id="small", function="sigmoid", dtype="float32", device="cpu", status="banned", score=0.0,
                        max_score=0.5, message="uses a routine you must write by hand", hidden=True,
                        banned=("torch.sigmoid (line 3: return torch.sigmoid(x))",), violations=("open /etc",))
    a1 = AssignmentResult(id="activations", title="Sigmoid, softmax", status="failed", score=0.75, max_score=3.25,
                          cases=(failed, passed, banned), message="", output=(("softmax", "hello\n"),),
                          source_file="/tmp/activations.py")
    a2 = AssignmentResult(id="metrics", title="Metrics", status="missing", score=0.0, max_score=0.0,
                          message="no metrics.py")
    return GradeResult(submission="assignments", score=0.75, max_score=3.25, assignments=(a1, a2),
                       devices=("cpu",), seconds=1.25, graded_at="2026-01-01T00:00:00+00:00",
                       versions={"grade": "0.1.0", "torch": "2.13.0+cpu"}, problems=(), kit=None)


def test_to_dict_has_every_documented_key(repo_root):
    doc = _result().to_dict()
    example = _readme_example(repo_root)
    assert set(doc) == set(example)
    assert set(doc["assignments"][0]) == set(example["assignments"][0])
    case = doc["assignments"][0]["cases"][0]
    assert set(case) == set(example["assignments"][0]["cases"][0])
    assert set(case["diagnosis"]) == set(example["assignments"][0]["cases"][0]["diagnosis"])
    assert set(case["runs"][0]) == set(example["assignments"][0]["cases"][0]["runs"][0])
    assert set(doc["assignments"][0]["output"][0]) == {"function", "text"}


def test_to_dict_values_and_types():
    doc = _result().to_dict()
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["status"] == "failed"
    assert (doc["score"], doc["max_score"]) == (0.75, 3.25)
    assert doc["devices"] == ["cpu"]
    case = doc["assignments"][0]["cases"][0]
    assert case["key"] == "softmax/large_1e4/float32"
    assert case["status"] in STATUSES
    assert case["diagnosis"]["id"] == "softmax_no_max_shift"
    assert doc["assignments"][0]["cases"][1]["diagnosis"] is None
    assert doc["assignments"][0]["cases"][2]["banned"] == ["torch.sigmoid (line 3: return torch.sigmoid(x))"]
    assert doc["assignments"][0]["output"] == [{"function": "softmax", "text": "hello\n"}]
    json.dumps(doc, allow_nan=False)  # strict JSON


def test_scores_are_rounded_for_json():
    r = _result()
    r2 = GradeResult(submission="s", score=1 / 3, max_score=2 / 3, assignments=())
    assert r2.to_dict()["score"] == 0.3333 and r2.to_dict()["max_score"] == 0.6667
    assert r.to_dict()["seconds"] == 1.25


def test_from_dict_round_trips():
    r = _result()
    back = GradeResult.from_dict(r.to_dict())
    assert back == r
    assert back.assignment("activations").cases[0].diagnosis == r.assignment("activations").cases[0].diagnosis
    assert back.to_dict() == r.to_dict()


def test_from_dict_round_trips_through_json_text():
    r = _result()
    back = GradeResult.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back == r


def test_from_dict_accepts_the_readme_example(repo_root):
    r = GradeResult.from_dict(_readme_example(repo_root))
    assert r.score == 48.0 and r.assignments[0].cases[0].diagnosis.id == "softmax_no_max_shift"
    assert r.assignments[0].cases[0].runs[0].device == "cpu"


@pytest.mark.parametrize("statuses, problems, expected", [
    (["passed", "passed"], (), "passed"),
    (["passed", "failed"], (), "failed"),
    ([], ("could not load",), "error"),
    ([], (), "failed"),  # nothing graded is not a pass
])
def test_overall_status(statuses, problems, expected):
    assigns = tuple(AssignmentResult(id=f"a{i}", title="", status=s, score=0, max_score=1)
                    for i, s in enumerate(statuses))
    r = GradeResult(submission="s", score=0, max_score=1, assignments=assigns, problems=problems)
    assert r.status == expected
    assert r.passed is (expected == "passed")


def test_lookup_helpers():
    r = _result()
    a = r.assignment("activations")
    assert a.functions == ["softmax", "sigmoid"]
    assert [c.key for c in r.cases()][:2] == ["softmax/large_1e4/float32", "softmax/small/float64"]
    assert a.cases[1].passed and not a.cases[0].passed
    with pytest.raises(KeyError):
        r.assignment("nope")
