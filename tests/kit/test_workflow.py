""".github/workflows/grade.yml: valid YAML, runs the README's commands, protects the grading files."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from grader.cli.check import check_cmd

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "grade.yml"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


@pytest.fixture(scope="module")
def wf() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.fixture(scope="module")
def steps(wf) -> list[dict]:
    [job] = wf["jobs"].values()
    return job["steps"]


def _step(steps, word: str) -> dict:
    hits = [s for s in steps if word.lower() in s.get("name", "").lower() or word in s.get("uses", "")]
    assert len(hits) == 1, f"expected one step matching {word!r}, got {[s.get('name') for s in hits]}"
    return hits[0]


def _commands(text: str, env: dict | None = None) -> list[str]:
    """pip/grade commands of a shell text: split at newlines and &&, the CPU index URL dropped, $VARS expanded."""
    out = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        for cmd in (c.strip() for c in line.split("&&")):
            if not cmd.startswith(("pip install", "grade check")):
                continue
            cmd = cmd.replace(f" --index-url {CPU_INDEX}", "")
            for k, v in (env or {}).items():
                cmd = cmd.replace(f'"${k}"', v).replace(f"${{{k}}}", v).replace(f"${k}", v)
            out.append(" ".join(shlex.split(cmd)))
    return out


def _readme_ci_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("<!-- BEGIN kit -->", 1)[1].split("<!-- END kit -->", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    [block] = [b for b in blocks if "grade check assignments --junit" in b]
    return block


def test_triggers_on_pull_requests_with_least_privilege(wf):
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in triggers and "pull_request_target" not in triggers
    assert wf["permissions"] == {"contents": "read", "checks": "write"}


def test_runs_the_same_commands_as_the_readme(wf, steps):
    run = "\n".join(s["run"] for s in steps if "run" in s)
    from_workflow = _commands(run, wf.get("env"))
    from_readme = _commands(_readme_ci_block())
    assert from_readme == from_workflow
    assert from_readme[0] == "pip install torch==2.13.0" and from_readme[1] == "pip install -e ."
    assert from_readme[2].startswith("grade check assignments ")


def test_installs_cpu_torch_first_and_explains_why(steps):
    install = _step(steps, "Install")["run"]
    assert install.index(f"pip install torch==2.13.0 --index-url {CPU_INDEX}") < install.index("pip install -e .")
    raw = WORKFLOW.read_text()
    comment = " ".join(raw[raw.index("- name: Install"):raw.index("run: pip install torch")].replace("#", " ").split())
    assert "no GPU" in comment and "CPU index" in comment


def test_grade_step_writes_every_report_and_fails_below_the_threshold(wf, steps):
    grade = _step(steps, "Grade")
    assert "continue-on-error" not in grade and "if" not in grade
    argv = shlex.split(grade["run"])
    assert argv[:3] == ["grade", "check", "assignments"]
    known = {opt for p in check_cmd.params for opt in getattr(p, "opts", [])}
    flags = [a for a in argv if a.startswith("--")]
    assert set(flags) <= known and {"--junit", "--summary", "--html", "--min-score"} <= set(flags)
    value = dict(zip(argv, argv[1:]))
    assert float(wf["env"]["MIN_SCORE"]) > 0 and value["--min-score"] == "$MIN_SCORE"
    upload = _step(steps, "actions/upload-artifact")
    assert upload["if"] == "${{ !cancelled() }}"
    assert Path(value["--html"]).parent == Path(upload["with"]["path"])
    junit = _step(steps, "mikepenz/action-junit-report")
    assert junit["if"] == "${{ !cancelled() }}"
    assert junit["with"]["report_paths"] == value["--junit"]


def test_grading_files_come_from_the_base_commit(steps):
    checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    base, head = checkouts
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}" and "path" not in base["with"]
    assert head["with"]["ref"] == "${{ github.event.pull_request.head.sha }}" and head["with"]["path"] == ".pr"
    assert all(c["with"]["persist-credentials"] is False for c in checkouts)
    order = [s.get("name", s.get("uses")) for s in steps]
    take = _step(steps, "Take only")
    assert order.index(take["name"]) < order.index(_step(steps, "Install")["name"])


def test_take_step_copies_only_existing_stubs(steps, tmp_path):
    script = _step(steps, "Take only")["run"]
    (tmp_path / "assignments").mkdir()
    (tmp_path / "assignments" / "activations.py").write_text("stub a\n")
    (tmp_path / "assignments" / "metrics.py").write_text("stub m\n")
    (tmp_path / "secret.txt").write_text("instructor only\n")
    pr = tmp_path / ".pr" / "assignments"
    pr.mkdir(parents=True)
    (pr / "activations.py").write_text("student a\n")
    (pr / "sitecustomize.py").write_text("import os\n")  # a new file: not taken
    os.symlink(tmp_path / "secret.txt", pr / "metrics.py")  # a symlink: not followed
    (tmp_path / ".pr" / "grade_kit").mkdir()
    (tmp_path / ".pr" / "grade_kit" / "manifest.json").write_text("{}")
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, check=True)
    assert (tmp_path / "assignments" / "activations.py").read_text() == "student a\n"
    assert (tmp_path / "assignments" / "metrics.py").read_text() == "stub m\n"
    assert not (tmp_path / "assignments" / "sitecustomize.py").exists()
    assert not (tmp_path / ".pr").exists()
