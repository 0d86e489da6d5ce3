"""The ``grade`` command (grader.cli.main) through click's CliRunner: output and exit codes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from grader.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main

ASSIGNMENTS = ("activations", "cross_entropy", "backprop", "batchnorm", "lstm", "attention", "metrics")
ACT_FUNCTIONS = ("sigmoid", "sigmoid_grad", "softmax", "softmax_jacobian", "softmax_backward")


@pytest.fixture(scope="module")
def invoke(worker, repo_root):
    """Run ``grade ARGS`` with a wide terminal (no wrapping) from the repository root; return the click Result."""
    runner = CliRunner()

    def _invoke(*args: str):
        return runner.invoke(main, [str(a) for a in args], env={"COLUMNS": "240", "GRADE_REFERENCE": None},
                             catch_exceptions=False)

    return _invoke


@pytest.fixture(scope="module")
def buggy(repo_root):
    return repo_root / "tests" / "submissions" / "buggy" / "activations" / "softmax_no_max_shift.py"


def test_reference_gets_full_marks(invoke, repo_root):
    r = invoke("check", repo_root / "reference", "-a", "activations", "--no-html", "--device", "cpu")
    assert r.exit_code == EXIT_OK, r.output
    assert "Total: 48/48" in r.output
    for f in ACT_FUNCTIONS:
        assert f in r.output
    assert "failed" not in r.output and "Traceback" not in r.output


def test_untouched_stubs_are_not_implemented_without_tracebacks(invoke, repo_root):
    r = invoke("check", repo_root / "assignments", "-a", "activations", "--no-html", "--device", "cpu")
    assert r.exit_code == EXIT_FAILED, r.output
    assert "Total: 0/48" in r.output
    for f in ACT_FUNCTIONS:
        lines = [ln for ln in r.output.splitlines() if f"• {f}:" in ln]
        assert len(lines) == 1 and "not implemented" in lines[0], (f, r.output)
    assert "Traceback" not in r.output and 'File "' not in r.output


def test_buggy_submission_shows_the_diagnosis(invoke, buggy):
    r = invoke("check", buggy, "-a", "activations", "--no-html", "--device", "cpu")
    assert r.exit_code == EXIT_FAILED, r.output
    assert "Total: 42/48" in r.output
    assert "softmax: 12/18 cases passed" in r.output
    assert "large_1e4 [float32]" in r.output
    assert "NaN or Inf where finite values were expected" in r.output
    assert "expected [0, 0:6] = " in r.output and "got      [0, 0:6] = " in r.output
    assert "Likely mistake: softmax without the max shift." in r.output
    assert "Subtract the max along dim" in r.output


def test_bare_invocation_with_a_path_behaves_like_check(invoke, buggy):
    r = invoke(buggy, "-a", "activations", "--no-html", "--device", "cpu")
    assert r.exit_code == EXIT_FAILED, r.output
    assert "Total: 42/48" in r.output and "Likely mistake: softmax without the max shift." in r.output


@pytest.mark.parametrize("min_score, code", [(42, EXIT_OK), (41.5, EXIT_OK), (42.5, EXIT_FAILED), (48, EXIT_FAILED)])
def test_min_score_sets_the_exit_code(invoke, buggy, min_score, code):
    r = invoke("check", buggy, "-a", "activations", "--no-html", "--device", "cpu", "--min-score", min_score)
    assert r.exit_code == code, r.output


def test_notebook_with_magics_grades_end_to_end(invoke, fixtures_dir):
    r = invoke("check", fixtures_dir / "notebooks" / "activations_magics.ipynb", "-a", "activations", "--no-html",
               "--device", "cpu")
    assert r.exit_code == EXIT_OK, r.output
    assert "Total: 48/48" in r.output


def test_json_writes_the_schema(invoke, buggy, tmp_path):
    out = tmp_path / "sub" / "result.json"
    r = invoke("check", buggy, "-a", "activations", "--no-html", "--device", "cpu", "--json", out)
    assert r.exit_code == EXIT_FAILED
    assert f"JSON result: {out}" in r.output
    doc = json.loads(out.read_text())
    assert {"schema_version", "score", "max_score", "assignments", "status", "devices"} <= set(doc)
    assert (doc["score"], doc["max_score"]) == (42.0, 48.0)
    [a] = doc["assignments"]
    assert {"id", "score", "max_score", "status", "cases"} <= set(a)
    assert a["id"] == "activations" and a["status"] == "failed"
    keys = {"id", "function", "device", "dtype", "status", "score", "max_score", "message", "diagnosis"}
    assert all(keys <= set(c) for c in a["cases"])
    bad = [c for c in a["cases"] if c["status"] != "passed"]
    assert len(bad) == 6 and {c["function"] for c in bad} == {"softmax"}
    assert {c["diagnosis"]["id"] for c in bad} == {"softmax_no_max_shift"}


def test_html_writes_a_file(invoke, buggy, tmp_path):
    out = tmp_path / "report.html"
    r = invoke("check", buggy, "-a", "activations", "--device", "cpu", "--html", out)
    assert r.exit_code == EXIT_FAILED
    assert f"HTML report: {out}" in r.output
    html = out.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>") and "softmax without the max shift" in html


def test_default_html_goes_to_reports(invoke, buggy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = invoke("check", buggy, "-a", "activations", "--device", "cpu")
    assert r.exit_code == EXIT_FAILED
    written = list((tmp_path / "reports").glob("softmax_no_max_shift-*.html"))
    assert len(written) == 1, r.output


@pytest.mark.parametrize("args, words", [
    (("check", "{ref}", "-a", "no_such_assignment", "--no-html"), "unknown assignment 'no_such_assignment'"),
    (("check", "{root}/does/not/exist", "--no-html"), "no such file or folder"),
    (("{root}/does/not/exist.py", "--no-html"), "no such file or folder"),
    (("check", "{root}/README.md", "--no-html"), "expected a folder, a .py file or a .ipynb notebook"),
    (("check", "{ref}", "--device", "tpu", "--no-html"), "Invalid value for '--device'"),
])
def test_usage_errors_exit_2(invoke, repo_root, args, words):
    r = invoke(*[a.format(root=repo_root, ref=repo_root / "reference") for a in args])
    assert r.exit_code == EXIT_USAGE, r.output
    assert words in r.output
    assert "Traceback" not in r.output


def test_cuda_without_cuda_is_a_usage_error(invoke, repo_root):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available on this machine: --device cuda is valid here")
    r = invoke("check", repo_root / "reference", "-a", "activations", "--device", "cuda", "--no-html")
    assert r.exit_code == EXIT_USAGE and "CUDA is not available" in r.output


def test_list_shows_all_seven_assignments(invoke):
    r = invoke("list")
    assert r.exit_code == EXIT_OK, r.output
    first_col = [ln.split()[0] for ln in r.output.splitlines() if ln.strip() and not ln.startswith(" ")]
    for aid in ASSIGNMENTS:
        assert aid in first_col, (aid, r.output)
    for f in ACT_FUNCTIONS:
        assert f in r.output
    assert "48" in r.output and "total" in r.output


def test_version_and_help(invoke):
    r = invoke("--version")
    assert r.exit_code == 0 and "grade" in r.output
    r = invoke("check", "--help")
    assert r.exit_code == 0 and "--min-score" in r.output and "--json" in r.output
