"""JUnit XML (``grade check --junit``): parses with a JUnit library, one testcase per case and device,
the right failure/error/skipped counts, failures carrying the message and the diagnosis."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from junitparser import Error, Failure, JUnitXml, Skipped

from grader.cli import main
from grader.report.junit import junit_status, render_junit, write_junit
from grader.results import AssignmentResult, CaseResult, DeviceRun, Diagnosis, GradeResult

ROOT = Path(__file__).resolve().parents[2]
BUGGY = ROOT / "tests" / "submissions" / "buggy" / "activations" / "softmax_no_max_shift.py"


def _case(id, status, *, function="f", dtype="float32", runs=None, **kw) -> CaseResult:
    devices = [r.device for r in runs] if runs else ["cpu"]
    return CaseResult(id=id, function=function, dtype=dtype, device=",".join(devices), status=status,
                      score=1.0 if status == "passed" else 0.0, max_score=1.0, runs=tuple(runs or ()), **kw)


def _result() -> GradeResult:
    diag = Diagnosis(id="softmax_no_max_shift", title="softmax without the max shift",
                     hint="Subtract the row max before exp().", evidence="matches on this case")
    cases = (
        _case("ok", "passed", runs=[DeviceRun("cpu", "passed", seconds=0.01), DeviceRun("cuda", "passed")]),
        _case("wrong", "failed", diagnosis=diag, message="3 of 4 elements differ",
              expected_excerpt="[1., 0.]", got_excerpt="[nan, 0.]",
              runs=[DeviceRun("cpu", "failed", "3 of 4 elements differ", expected_excerpt="[1., 0.]",
                              got_excerpt="[nan, 0.]"),
                    DeviceRun("cuda", "passed")]),
        _case("boom", "error", message="your code raised an exception:\nValueError: bad\x00 byte",
              runs=[DeviceRun("cpu", "error", "your code raised an exception:\nValueError: bad\x00 byte")]),
        _case("slow", "timeout", message="timed out after 5 s", runs=[DeviceRun("cpu", "timeout", "timed out after 5 s")]),
        _case("cheat", "banned", message="uses a routine you must write by hand: torch.softmax",
              runs=[DeviceRun("cpu", "passed")], hidden=True),
        _case("todo", "not_implemented", function="g", message="not implemented yet"),
        _case("late", "skipped", function="g", message="not run: the submission used up its total time limit."),
    )
    a = AssignmentResult(id="act", title="Activations", status="failed", score=1.0, max_score=7.0, cases=cases,
                         output=(("f", "printed <stuff> & more"),))
    return GradeResult(submission="sub", score=1.0, max_score=7.0, assignments=(a,), devices=("cpu", "cuda"),
                       problems=("graded against a stale kit: x",), kit={"version": "abc", "hidden_cases": 3},
                       graded_at="2026-01-01T00:00:00+00:00")


def _cases(xml: JUnitXml):
    return [(suite, tc) for suite in xml for tc in suite]


def test_statuses_map_to_junit_elements():
    assert [junit_status(s) for s in ("passed", "failed", "banned", "not_implemented", "error", "timeout",
                                      "skipped")] == ["passed", "failure", "failure", "failure", "error", "error",
                                                      "skipped"]


def test_synthetic_result_parses_with_the_right_counts(tmp_path):
    path = write_junit(_result(), tmp_path / "j.xml")
    xml = JUnitXml.fromfile(str(path))
    [suite] = list(xml)
    # ok x2 devices, wrong x2, boom, slow, cheat, todo, late
    assert (suite.name, suite.tests, suite.failures, suite.errors, suite.skipped) == ("act", 9, 3, 2, 1)
    by_name = {(tc.classname, tc.name): tc for _, tc in _cases(xml)}
    assert set(by_name) >= {("act.f", "ok [float32] [cpu]"), ("act.f", "ok [float32] [cuda]"),
                            ("act.f", "wrong [float32] [cpu]"), ("act.g", "todo [float32] [cpu]")}
    assert by_name[("act.f", "wrong [float32] [cuda]")].is_passed
    [fail] = by_name[("act.f", "wrong [float32] [cpu]")].result
    assert isinstance(fail, Failure) and fail.type == "failed"
    assert "3 of 4 elements differ" in fail.message and "softmax without the max shift" in fail.message
    assert "Subtract the row max before exp()." in fail.text and "expected [1., 0.]" in fail.text
    [err] = by_name[("act.f", "boom [float32] [cpu]")].result
    assert isinstance(err, Error) and err.type == "error" and "ValueError: bad\ufffd byte" in err.text
    [err] = by_name[("act.f", "slow [float32] [cpu]")].result
    assert isinstance(err, Error) and err.type == "timeout"
    [ban] = by_name[("act.f", "cheat [float32] [cpu]")].result
    assert isinstance(ban, Failure) and ban.type == "banned"  # the run passed, but the case earns nothing
    [todo] = by_name[("act.g", "todo [float32] [cpu]")].result
    assert isinstance(todo, Failure) and todo.type == "not_implemented"
    [late] = by_name[("act.g", "late [float32] [cpu]")].result
    assert isinstance(late, Skipped)
    props = {p.name: p.value for p in suite.properties()}
    assert props["notice"].startswith("Student kit abc") and props["problem"].startswith("graded against a stale")
    assert "printed &lt;stuff&gt; &amp; more" in path.read_text()  # captured output, escaped


def test_notice_can_be_given_explicitly():
    text = render_junit(_result(), notice="custom notice")
    assert 'value="custom notice"' in text


def test_cli_junit_failure_count_matches_the_result(tmp_path, worker):
    sub = tmp_path / "activations.py"
    sub.write_text(BUGGY.read_text())
    junit, js = tmp_path / "out" / "junit.xml", tmp_path / "r.json"
    r = CliRunner().invoke(main, ["check", str(sub), "-a", "activations", "--device", "cpu", "--no-html",
                                  "--junit", str(junit), "--json", str(js)])
    assert r.exit_code == 1, r.output
    assert "JUnit XML:" in r.output and junit.is_file()
    doc = json.loads(js.read_text())
    runs = [(c, run) for a in doc["assignments"] for c in a["cases"] for run in c["runs"]]
    want_fail = sum(1 for c, run in runs if run["status"] == "failed" or c["status"] in ("banned",))
    xml = JUnitXml.fromfile(str(junit))
    assert xml.tests == len(runs) > 0
    assert xml.failures == want_fail > 0 and xml.errors == 0
    failing = [tc for _, tc in _cases(xml) if not tc.is_passed]
    assert all(tc.classname == "activations.softmax" for tc in failing)
    assert any("likely mistake: softmax without the max shift" in r.message for tc in failing for r in tc.result)


@pytest.mark.parametrize("bad", ["\x1b[31mred\x1b[0m", "form\x0cfeed"])
def test_control_characters_do_not_break_the_xml(tmp_path, bad):
    res = _result()
    a = res.assignments[0]
    case = a.cases[1]
    a2 = dataclasses.replace(a, cases=(dataclasses.replace(case, message=f"msg {bad}"),))
    path = write_junit(dataclasses.replace(res, assignments=(a2,)), tmp_path / "j.xml")
    xml = JUnitXml.fromfile(str(path))
    assert xml.failures == 1
