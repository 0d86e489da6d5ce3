"""Attacks on the result channel, the deadlines, hidden cases and the child's environment (issue 9).

Each hostile file (tests/hostile/protocol/) is a correct ``activations``
submission except for ``softmax`` (or its top level), which attacks. For each
we assert the verdict, that the other functions were graded (and passed),
that the grader and its worker are alive, that a JSON result was written
within a bound, and that no process or temporary folder was left behind.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
import time
from pathlib import Path

import pytest

from grader.api import check
from grader.catalog.project import load_catalog
from grader.judge.engine import Options, submission_key
from grader.sandbox.worker import Worker
from grader.submission.load import load_submission

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "hostile"
CATALOG = load_catalog(ROOT / "reference")
SECRET = "s3cr3t-value-the-student-must-never-see"
OTHERS = ("sigmoid", "sigmoid_grad", "softmax_jacobian", "softmax_backward")


@pytest.fixture(scope="module")
def worker():
    """A spawned worker whose environment (and so every child's initial environment block) holds a secret."""
    os.environ["GRADE_TEST_SECRET"] = SECRET
    try:
        w = Worker(start="spawn", secret_roots=(str(ROOT / "reference"),)).start()
    finally:
        del os.environ["GRADE_TEST_SECRET"]
    yield w
    w.close()


def _descendants(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open(f"/proc/{e}/stat", "rb") as f:
                    stat = f.read()
                kids.setdefault(int(stat[stat.rindex(b")") + 2:].split()[1]), []).append(int(e))
            except (OSError, ValueError, IndexError):
                continue
    out, todo = [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _grade(name: str, tmp_path: Path, worker, *, bound: float = 90.0, **opts):
    """Grade tests/hostile/protocol/<name> as activations.py; check the invariants every attack must leave."""
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "activations.py").write_text((HOSTILE / "protocol" / name).read_text())
    (sub / "_base_activations.py").write_text((HOSTILE / "_base_activations.py").read_text())
    runs = tmp_path / "tmp"  # the sessions' temporary folders go here, apart from anyone else's
    runs.mkdir()
    out = tmp_path / "result.json"
    saved, tempfile.tempdir = tempfile.tempdir, str(runs)
    try:
        t0 = time.monotonic()
        r = check(sub, assignments=("activations",), device="cpu", worker=worker, catalog=CATALOG, json_path=out,
                  options=Options(case_seconds=opts.pop("case_seconds", 0.5), **opts))
        elapsed = time.monotonic() - t0
    finally:
        tempfile.tempdir = saved
    assert elapsed < bound, f"grading took {elapsed:.1f} s"
    assert json.loads(out.read_text())["assignments"][0]["id"] == "activations"
    assert worker.alive
    time.sleep(0.2)
    assert _descendants(worker._pid) == [], "a student process outlived its grading"
    left = glob.glob(str(runs / "grade-run-*"))
    assert not left, f"temporary folders left behind: {left}"
    a = r.assignment("activations")
    for f in OTHERS:
        cases = [c for c in a.cases if c.function == f]
        assert cases and all(c.status == "passed" for c in cases), (f, {c.status for c in cases})
    return r, [c for c in a.cases if c.function == "softmax"], a


def test_forged_result_frames_are_tampering_not_a_pass(tmp_path, worker):
    r, cases, _ = _grade("forged_frames.py", tmp_path, worker)
    assert cases and all(c.status == "banned" for c in cases), {c.status for c in cases}
    assert all(c.score == 0 for c in cases)
    assert "result channel" in cases[0].message and "instructor will review" in cases[0].message


def test_a_deeply_nested_forged_header_is_a_verdict_not_a_grader_crash(tmp_path, worker):
    r, cases, _ = _grade("nested_header.py", tmp_path, worker)
    assert cases and all(c.status == "banned" for c in cases)
    assert "corrupted the grader's result channel" in cases[0].message


def test_frames_sent_while_sleeping_do_not_extend_the_deadline(tmp_path, worker):
    r, cases, _ = _grade("keepalive.py", tmp_path, worker, bound=60.0)
    assert cases[0].status in ("timeout", "banned"), cases[0].status  # stopped either way, never waited on
    assert all(c.score == 0 for c in cases)


def test_a_child_that_will_not_exit_is_killed_after_a_short_grace(tmp_path, worker):
    r, cases, _ = _grade("exit_hang.py", tmp_path, worker, bound=45.0)
    assert all(c.status == "passed" for c in cases)


def test_hidden_inputs_do_not_leak_through_messages_output_or_returned_values(tmp_path, worker):
    r, cases, a = _grade("exfiltrate_hidden.py", tmp_path, worker)
    hidden = [c for c in cases if c.hidden]
    visible = [c for c in cases if not c.hidden]
    assert hidden and visible
    assert any("LEAK" in c.message for c in visible)  # the student's own message, on a visible case
    doc = (tmp_path / "result.json").read_text()
    # the hidden instances this submission was graded on
    module = load_submission(tmp_path / "sub", assignment_ids=CATALOG.ids).modules["activations"]
    spec = CATALOG.get("activations")
    insts = CATALOG.instances(spec, spec.function("softmax"), submission_key=submission_key(module))
    leaked = []
    for inst in insts:
        if inst.case.hidden:
            vals = inst.inputs["args"][0].data.reshape(-1)[:4]
            leaked += [f"{round(float(v), 6)}" for v in vals if abs(float(v)) > 1e-3 and f"{round(float(v), 6)}" in doc]
            for c in hidden:
                assert "LEAK" not in c.message and not c.got_excerpt and not c.expected_excerpt
    assert not leaked, f"hidden input values in the report: {leaked[:3]}"
    assert any("hidden cases" in t and "not shown" in t for _, t in a.output)


def test_hidden_inputs_depend_on_the_submission():
    spec = CATALOG.get("activations")
    f = spec.function("softmax")
    a = {i.key: i for i in CATALOG.instances(spec, f, submission_key="one")}
    b = {i.key: i for i in CATALOG.instances(spec, f, submission_key="two")}
    assert a.keys() == b.keys()
    for k in a:
        same = (a[k].inputs["args"][0].data == b[k].inputs["args"][0].data).all()
        assert same == (not a[k].case.hidden), k


def test_in_place_mutation_is_read_from_grader_memory_not_from_the_childs_report(tmp_path, worker):
    r, cases, _ = _grade("mutate_wrapped_send.py", tmp_path, worker)
    assert cases and all(c.status == "failed" for c in cases)
    assert all("modified its input `x` in place" in c.message for c in cases)


def test_the_child_has_no_secrets_and_no_capabilities(tmp_path, worker):
    r, _, a = _grade("secrets_and_caps.py", tmp_path, worker)
    text = "\n".join(t for _, t in a.output)
    assert "ENV" in text and "CHOWN" in text, text[:500]
    assert SECRET not in text and "GRADE_" not in text
    env_line = next(ln for ln in text.splitlines() if ln.startswith("ENV"))
    assert "'HOME', " in env_line and "'PATH', " in env_line  # what ordinary code needs is still there
    for line in text.splitlines():
        if line.startswith("READ"):  # an environment block that could be read shows nothing
            assert SECRET not in line
    # refused by the kernel (PermissionError), not by the audit hook (SandboxViolation): no capabilities
    assert "CHOWN refused PermissionError" in text
    assert "IMMUTABLE set" not in text
