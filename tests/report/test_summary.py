"""Markdown summary (``--summary FILE`` and ``$GITHUB_STEP_SUMMARY``) and ``--min-score`` exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from grader.cli import EXIT_FAILED, EXIT_OK, main
from grader.report.summary import MAX_FAILING, render_summary, write_summary
from grader.results import AssignmentResult, CaseResult, Diagnosis, GradeResult

ROOT = Path(__file__).resolve().parents[2]
BUGGY = ROOT / "tests" / "submissions" / "buggy" / "activations" / "softmax_no_max_shift.py"

DIAG = Diagnosis(id="no_shift", title="softmax without the max shift", hint="Subtract the row max first.")


def _result(n_failing: int = 2, *, problems=()) -> GradeResult:
    cases = [CaseResult(id="ok", function="softmax", dtype="float32", device="cpu", status="passed", score=2.0,
                        max_score=2.0)]
    for i in range(n_failing):
        cases.append(CaseResult(id=f"bad{i}", function="softmax", dtype="float64", device="cpu", status="failed",
                                score=0.0, max_score=1.0, message=f"output | {i} of 9 differ\nsecond line",
                                diagnosis=DIAG))
    cases.append(CaseResult(id="todo", function="sigmoid", dtype="float32", device="cpu", status="not_implemented",
                            score=0.0, max_score=1.0, message="not implemented yet", hidden=True))
    score = 2.0
    mx = 2.0 + n_failing + 1
    a = AssignmentResult(id="activations", title="Activations", status="failed", score=score, max_score=mx,
                         cases=tuple(cases))
    b = AssignmentResult(id="metrics", title="Metrics", status="missing", score=0.0, max_score=0.0,
                         message="no metrics.py in sub")
    return GradeResult(submission="work/sub", score=score, max_score=mx, assignments=(a, b), devices=("cpu",),
                       versions={"grade": "0.1.0"}, problems=tuple(problems))


def test_score_table_failing_cases_notice_and_verdict():
    md = render_summary(_result(problems=("graded against a stale kit: x",)), min_score=3,
                        notice="Student kit abc: visible cases only")
    assert md.startswith("## grade: 2 / 5 points (40.0%) ❌")
    assert "> Student kit abc: visible cases only" in md
    assert "> graded against a stale kit: x" in md
    assert "Minimum score 3: **not reached** (2 < 3)." in md
    assert "| `activations` | `softmax` | 1/3 | 2/4 | ❌ failed |" in md
    assert "| `activations` | `sigmoid` | 0/1 | 0/1 | ⬜ not implemented |" in md
    assert "| `activations` | **total** | | **2/5** | ❌ failed |" in md
    assert "### Failing cases (3)" in md
    assert "- `metrics`: no metrics.py in sub" in md
    # one line per failing case, pipes escaped, the hint in full only the first time
    assert "| `activations.softmax` bad0 [float64] | ❌ failed | output \\| 0 of 9 differ | " \
           "**softmax without the max shift**: Subtract the row max first. |" in md
    assert "| `activations.softmax` bad1 [float64] | ❌ failed | output \\| 1 of 9 differ | " \
           "**softmax without the max shift** |" in md
    assert "todo [float32] (hidden)" in md and "second line" not in md


def test_reached_threshold_and_no_threshold():
    md = render_summary(_result(), min_score=2)
    assert "Minimum score 2: reached (2 ≥ 2)." in md and md.splitlines()[0].endswith("✅")
    md = render_summary(_result())
    assert "Not every case passed." in md and "Minimum score" not in md


def test_long_lists_are_cut():
    md = render_summary(_result(MAX_FAILING + 5))
    assert "… and 6 more failing cases: see the HTML report." in md
    assert md.count("| `activations.softmax` bad") == MAX_FAILING


def test_append_mode_appends(tmp_path):
    p = tmp_path / "step_summary.md"
    p.write_text("earlier step\n")
    write_summary(_result(), p, append=True)
    write_summary(_result(), p, append=True)
    text = p.read_text()
    assert text.startswith("earlier step\n") and text.count("## grade:") == 2
    write_summary(_result(), p)
    assert p.read_text().count("## grade:") == 1


def test_cli_summary_github_step_summary_and_min_score_exit_codes(tmp_path, monkeypatch, worker):
    sub = tmp_path / "activations.py"
    sub.write_text(BUGGY.read_text())
    step = tmp_path / "github_step_summary.md"
    step.write_text("# previous step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    runner = CliRunner()
    summary, js = tmp_path / "summary.md", tmp_path / "r.json"
    base = ["check", str(sub), "-a", "activations", "--device", "cpu", "--no-html"]
    r = runner.invoke(main, [*base, "--summary", str(summary), "--json", str(js)])
    assert r.exit_code == EXIT_FAILED, r.output  # without --min-score every case must pass
    score = json.loads(js.read_text())["score"]
    assert 0 < score
    md = summary.read_text()
    assert md.startswith(f"## grade: {score:g} / ") and "Not every case passed." in md
    assert "softmax without the max shift" in md and "large_1e4 [float32]" in md
    assert step.read_text().startswith("# previous step\n## grade:")

    r = runner.invoke(main, [*base, "--summary", str(summary), "--min-score", str(score)])
    assert r.exit_code == EXIT_OK, r.output
    assert f"Minimum score {score:g}: reached" in summary.read_text()
    r = runner.invoke(main, [*base, "--summary", str(summary), "--min-score", str(score + 0.5)])
    assert r.exit_code == EXIT_FAILED, r.output
    assert "**not reached**" in summary.read_text()
    assert step.read_text().count("## grade:") == 3
