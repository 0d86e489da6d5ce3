"""The student kit (``grade release``, :mod:`grader.kit`, :mod:`grader.kit.release`).

* the kit holds no reference code, no spec, no hidden case and no hidden salt
  (scanned here independently of the release's own check);
* a correct solution gets full marks in the kit and in the project; a wrong
  one fails in both with the same messages on the visible cases;
* ``grade check`` run inside the kit, with the kit's own copy of the grader,
  says that hidden cases are graded by the instructor;
* stale kits are detected on the instructor's side.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grader.api import check
from grader.cli import main
from grader.kit.catalog import find_kit, load_kit, stale_kit_problems
from grader.kit.payload import KIT_DIR, assignment_version, header_line, kit_version, parse_headers
from grader.submission.load import load_submission
from grader.kit.release import CHECK_COMMAND, INSTALL_COMMAND, ReleaseError, build_kit
from grader.spec import SpecError
from grader.sandbox.wire import Array, decode_bytes

ROOT = Path(__file__).resolve().parents[2]
SUBMISSIONS = ROOT / "tests" / "submissions"
SALT = "kit-test-salt-5f0c2b9e41d7"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


@pytest.fixture(scope="module")
def salted(catalog):
    """The project's catalog with a hidden salt (its own instance memo: hidden inputs differ)."""
    return dataclasses.replace(catalog, hidden_salt=SALT, _instances={})


@pytest.fixture(scope="module")
def kit(tmp_path_factory, salted) -> Path:
    out = tmp_path_factory.mktemp("kit") / "kit"
    build_kit(out, catalog=salted, owners=("@course/teachers",))
    return out


@pytest.fixture(scope="module")
def kit_catalog(kit):
    return load_kit(kit)


def _first(kind: str) -> dict[str, Path]:
    out = {}
    for d in sorted((SUBMISSIONS / kind).iterdir()):
        files = sorted(d.glob("*.py"))
        if files:
            out[d.name] = files[0]
    return out


@pytest.fixture(scope="module")
def correct_dir(tmp_path_factory, kit) -> Path:
    """One correct solution per assignment, as a student would hand it in: the kit's stub header kept."""
    d = tmp_path_factory.mktemp("correct")
    for aid, src in _first("correct").items():
        header = (kit / "assignments" / f"{aid}.py").read_text().splitlines()[0]
        (d / f"{aid}.py").write_text(header + "\n" + src.read_text())
    return d


@pytest.fixture(scope="module")
def buggy_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("buggy")
    for aid, src in _first("buggy").items():
        shutil.copyfile(src, d / f"{aid}.py")
    return d


# ---------------------------------------------------------------------------
# contents


def test_kit_layout(kit, catalog):
    assert (kit / "README.md").is_file() and (kit / "pyproject.toml").is_file()
    assert (kit / ".github" / "workflows" / "grade.yml").read_text() == \
        (ROOT / ".github" / "workflows" / "grade.yml").read_text()
    assert "@course/teachers" in (kit / ".github" / "CODEOWNERS").read_text()
    manifest = json.loads((kit / KIT_DIR / "manifest.json").read_text())
    assert [a["id"] for a in manifest["assignments"]] == list(catalog.ids)
    for aid in catalog.ids:
        stub = (kit / "assignments" / f"{aid}.py").read_text()
        first, rest = stub.split("\n", 1)
        assert rest == (ROOT / "assignments" / f"{aid}.py").read_text()
        [h] = parse_headers(first)
        assert (h.kit, h.assignment, h.assignment_version) == (manifest["version"], aid,
                                                               manifest["assignments"][catalog.ids.index(aid)]["version"])
        assert (kit / KIT_DIR / "data" / f"{aid}.grd").is_file()
    # the grader travels with the kit, without its instructor-only modules
    assert (kit / "grader" / "judge" / "engine.py").is_file() and (kit / "grader" / "kit" / "catalog.py").is_file()
    assert not (kit / "grader" / "kit" / "release.py").exists() and not (kit / "grader" / "cli" / "release.py").exists()
    assert not (kit / "grader" / "catalog" / "lint.py").exists()
    assert not (kit / "reference").exists() and not list(kit.rglob("specs"))
    assert set(manifest["files"]) == {p.relative_to(kit).as_posix() for p in kit.rglob("*") if p.is_file()}
    assert manifest["hidden_cases"] == sum(c.hidden for a in catalog.assignments for f in a.functions for c in f.cases)


def _code_lines(source: str) -> list[str]:
    """Code lines without comments and docstrings, normalized by ast.unparse."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            b = node.body
            if b and isinstance(b[0], ast.Expr) and isinstance(b[0].value, ast.Constant) \
                    and isinstance(b[0].value.value, str):
                node.body = b[1:] or [ast.Pass()]
    # import lines are boilerplate every module shares; what would leak is logic
    return [line.strip() for line in ast.unparse(tree).splitlines()
            if line.strip() and not line.strip().startswith(("import ", "from "))]


def _windows(lines: list[str], n: int = 3) -> set[tuple[str, ...]]:
    return {tuple(lines[i:i + n]) for i in range(len(lines) - n + 1)}


def test_kit_contains_no_reference_or_spec_code(kit):
    files = [p for p in kit.rglob("*") if p.is_file()]
    texts = {p: p.read_text(encoding="utf-8", errors="replace") for p in files if p.suffix != ".grd"}
    kit_windows = {p: _windows(_code_lines(t)) for p, t in texts.items() if p.suffix == ".py"}
    refs = sorted((ROOT / "reference").glob("*.py"))
    specs = sorted((ROOT / "reference" / "specs").glob("*.py"))
    assert refs and specs
    for src in refs + specs:
        lines = _code_lines(src.read_text())
        wins = _windows(lines)
        for p, kw in kit_windows.items():
            shared = wins & kw
            assert not shared, f"{p.relative_to(kit)} holds code of {src.relative_to(ROOT)}: {sorted(shared)[0]}"
        if src in refs:  # a distinctive line of a reference body anywhere (README, manifest...) is a leak too
            distinct = [ln for ln in lines if len(ln) >= 30 and not ln.startswith(("def ", "from ", "import ", "@"))]
            for p, t in texts.items():
                hit = next((ln for ln in distinct if ln in t), None)
                assert hit is None, f"{p.relative_to(kit)} holds a line of {src.name}: {hit}"


def test_kit_contains_no_hidden_case_or_salt(kit, salted):
    visible = {c.id for a in salted.assignments for f in a.functions for c in f.cases if not c.hidden}
    hidden = {c.id for a in salted.assignments for f in a.functions for c in f.cases if c.hidden} - visible
    assert hidden
    blobs = {p: p.read_bytes() for p in kit.rglob("*") if p.is_file()}
    for p, b in blobs.items():
        assert SALT.encode() not in b, f"{p} holds the hidden salt"
        text = b.decode("utf-8", errors="replace")
        for hid in hidden:
            assert f'"{hid}' not in text and f"{hid}/" not in text and f" {hid} " not in text, \
                f"{p.relative_to(kit)} names hidden case {hid}"
    # the shipped data holds exactly the visible instances...
    for a in salted.assignments:
        _, data = decode_bytes(blobs[kit / KIT_DIR / "data" / f"{a.id}.grd"])
        for f in a.functions:
            want = {f"{c.id}/{dt}" for c in f.cases if not c.hidden for dt in c.dtypes}
            assert set(data[f.name]) == want
    # ...and no hidden input or expected output, byte for byte
    grd = b"".join(b for p, b in blobs.items() if p.suffix == ".grd")
    checked = 0
    for a in salted.assignments:
        for f in a.functions:
            for inst in salted.instances(a, f):
                if not inst.case.hidden:
                    continue
                for arr in _arrays((inst.inputs, inst.expected)):
                    probe = _fingerprint_window(arr.data)
                    if probe is not None:
                        checked += 1
                        assert probe not in grd, f"hidden {a.id}.{f.name}[{inst.key}] is in the kit"
    assert checked > 50


def _fingerprint_window(data):
    """The bytes of 8 consecutive values that are all distinct and none of 0, 1, -1: a window no
    unrelated array shares by chance (a prefix of zeros or ones would), or None."""
    if data.dtype.kind != "f":
        return None
    vals = data.reshape(-1)
    for start in range(0, max(0, vals.size - 7)):
        w = vals[start:start + 8]
        if np.unique(w).size == 8 and not np.isin(w, (0.0, 1.0, -1.0)).any():
            return w.tobytes()
    return None


def _arrays(v):
    if isinstance(v, Array):
        yield v
    elif isinstance(v, (tuple, list)):
        for x in v:
            yield from _arrays(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from _arrays(x)


def test_release_refuses_a_kit_that_would_leak(tmp_path, catalog):
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    shutil.copyfile(ROOT / "reference" / "activations.py", stubs / "activations.py")  # a "stub" that is the answer
    with pytest.raises(ReleaseError, match="function body equals one in activations.py"):
        build_kit(tmp_path / "kit", catalog=catalog, assignments=("activations",), stubs_dir=stubs)
    assert not (tmp_path / "kit").exists()


# ---------------------------------------------------------------------------
# the kit's catalog


def test_kit_catalog_offers_the_catalog_interface(kit_catalog, catalog):
    assert kit_catalog.kind == "kit" and kit_catalog.ids == catalog.ids and kit_catalog.hidden_salt == ""
    assert Path(kit_catalog.reference_dir) == Path(kit_catalog.root) / "data"
    assert kit_catalog.secret_roots() == (kit_catalog.reference_dir,)
    with pytest.raises(SpecError, match="unknown assignment 'nope'"):
        kit_catalog.get("nope")
    a, full = kit_catalog.get("activations"), catalog.get("activations")
    assert a.max_score == sum(c.points for f in full.functions for c in f.cases if not c.hidden) < full.max_score
    assert a.banned == full.banned and a.banned_ops == full.banned_ops
    f, ff = a.function("softmax"), full.function("softmax")
    assert [m.id for m in f.mistakes] == [m.id for m in ff.mistakes]
    assert kit_catalog.arg_names(a, f) == catalog.arg_names(full, ff)
    case = f.cases[0]
    assert a.tolerance_for(f, case, "float32") == full.tolerance_for(ff, ff.cases[0], "float32")
    insts = kit_catalog.instances(a, f)
    ref = [i for i in catalog.instances(full, ff) if not i.case.hidden]
    assert [i.key for i in insts] == [i.key for i in ref]
    assert all(i.call is None and isinstance(i.variants, dict) for i in insts)
    assert np.array_equal(insts[0].expected.data, ref[0].expected.data)
    assert kit_catalog.kit_info["version"] == kit_version(kit_catalog)


def test_find_kit_walks_up_and_honours_GRADE_KIT(kit, tmp_path, monkeypatch):
    monkeypatch.delenv("GRADE_KIT", raising=False)
    assert find_kit(kit / "assignments") == kit / KIT_DIR
    assert find_kit(tmp_path) is None
    monkeypatch.setenv("GRADE_KIT", str(kit))
    assert find_kit(tmp_path) == kit / KIT_DIR


def test_tampered_kit_data_is_reported(kit, tmp_path):
    copy = tmp_path / "kit"
    shutil.copytree(kit / KIT_DIR, copy / KIT_DIR)
    data = copy / KIT_DIR / "data" / "activations.grd"
    blob = bytearray(data.read_bytes())
    blob[-1] ^= 0x01
    data.write_bytes(bytes(blob))
    cat = load_kit(copy)
    a = cat.get("activations")
    with pytest.raises(SpecError, match="was modified"):
        cat.instances(a, a.functions[0])


# ---------------------------------------------------------------------------
# grading in the kit and in the project


_PREFIX_LINE = ("Your result first differs", "Your result already differs")


def _visible(result) -> dict:
    """Per visible case: status, message, diagnosis and excerpts. The one line a kit cannot give is the
    prefix search's ("first differs once sentence 3 is included"): it calls the reference, which a kit
    does not have; it is left out of the comparison."""
    def msg(m: str) -> str:
        return "\n".join(ln for ln in m.splitlines() if not ln.startswith(_PREFIX_LINE))

    return {(a.id, c.function, c.id, c.dtype): (c.status, msg(c.message), c.diagnosis.id if c.diagnosis else None,
                                                c.expected_excerpt, c.got_excerpt)
            for a in result.assignments for c in a.cases if not c.hidden}


def test_correct_solutions_get_full_marks_in_kit_and_project(correct_dir, kit_catalog, catalog, worker):
    in_kit = check(correct_dir, device="cpu", worker=worker, catalog=kit_catalog)
    in_project = check(correct_dir, device="cpu", worker=worker, catalog=catalog)
    assert [a.id for a in in_kit.assignments] == list(catalog.ids)
    for r in (in_kit, in_project):
        bad = [f"{a.id}.{c.key}: {c.status}: {c.message[:200]}" for a in r.assignments for c in a.cases
               if not c.passed]
        assert not bad, "\n".join(bad)
        assert r.score == pytest.approx(r.max_score)
    assert in_project.max_score == pytest.approx(sum(a.max_score for a in catalog.assignments))
    assert in_kit.max_score == pytest.approx(kit_catalog.kit_info["visible_max_score"])
    assert in_kit.max_score < in_project.max_score
    assert not any(c.hidden for c in in_kit.cases()) and any(c.hidden for c in in_project.cases())
    assert in_kit.kit["hidden_cases"] > 0 and in_project.kit is None
    # the header the student kept matches the current release: no stale-kit problem on either side
    assert in_kit.problems == () and in_project.problems == ()


def test_wrong_solutions_fail_in_both_with_the_same_messages(buggy_dir, kit_catalog, catalog, worker):
    in_kit = check(buggy_dir, device="cpu", worker=worker, catalog=kit_catalog)
    in_project = check(buggy_dir, device="cpu", worker=worker, catalog=catalog)
    graded = {a.id for a in in_kit.assignments if a.status != "missing"}
    assert graded == set(_first("buggy"))
    for aid in graded:
        assert in_kit.assignment(aid).status == "failed" and in_project.assignment(aid).status == "failed"
    kit_cases, project_cases = _visible(in_kit), _visible(in_project)
    kit_cases = {k: v for k, v in kit_cases.items() if k[0] in graded}
    assert kit_cases == {k: v for k, v in project_cases.items() if k[0] in graded}
    failing = [v for v in kit_cases.values() if v[0] != "passed"]
    assert failing and any(v[2] for v in failing), "no diagnosis in the kit: mistake outputs not shipped?"


def test_grade_check_inside_the_kit_uses_the_kits_own_grader(kit, tmp_path):
    """End to end, in a fresh interpreter run from the kit: the kit's copy of the grader and its data only."""
    work = tmp_path / "student"
    shutil.copytree(kit, work, ignore=shutil.ignore_patterns("__pycache__"))
    sol = next(iter(sorted((SUBMISSIONS / "correct" / "activations").glob("*.py"))))
    stub = work / "assignments" / "activations.py"
    stub.write_text(stub.read_text().splitlines()[0] + "\n" + sol.read_text())
    env = {k: v for k, v in os.environ.items() if k not in ("GRADE_REFERENCE", "GRADE_KIT", "PYTHONPATH")}
    env["COLUMNS"] = "200"
    r = subprocess.run([sys.executable, "-m", "grader.cli", "check", "-a", "activations", "--device", "cpu",
                        "--json", "out.json", "--junit", "junit.xml", "--summary", "summary.md", "--no-html"],
                       cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((work / "out.json").read_text())
    assert doc["kit"]["version"] == json.loads((kit / KIT_DIR / "manifest.json").read_text())["version"]
    assert doc["score"] == doc["max_score"] > 0 and not any(c["hidden"] for c in doc["assignments"][0]["cases"])
    for text in (r.stdout, (work / "summary.md").read_text()):
        assert "hidden case(s) are graded by your instructor" in text and "not your final grade" in text
        assert "all tests passed" not in text.lower()
    assert "not your final grade" in (work / "junit.xml").read_text()


def test_kit_readme_gives_the_workflows_commands(kit):
    readme = (kit / "README.md").read_text()
    wf = (kit / ".github" / "workflows" / "grade.yml").read_text()
    min_score = re.search(r'MIN_SCORE: "([0-9.]+)"', wf).group(1)
    assert f"```bash\n{INSTALL_COMMAND}\n{CHECK_COMMAND.format(min_score=min_score)}\n```" in readme
    assert f"run: {INSTALL_COMMAND.replace('torch==2.13.0', 'torch==2.13.0 --index-url ' + CPU_INDEX)}\n" in wf
    check_in_wf = CHECK_COMMAND.format(min_score='"$MIN_SCORE"')
    assert f"run: {check_in_wf}\n" in wf
    assert "not your grade" in readme and "hidden" in readme


# ---------------------------------------------------------------------------
# versions and stale kits


def test_versions_are_recomputed_identically_on_the_instructor_side(kit_catalog, catalog):
    for a in catalog.assignments:
        assert assignment_version(catalog, a) == kit_catalog.versions[a.id]
    assert kit_version(catalog) == kit_catalog.kit_info["version"]


def test_stale_kit_is_reported_on_the_instructor_side(tmp_path, kit, catalog, kit_catalog, worker):
    sub = tmp_path / "sub"
    sub.mkdir()
    stub = (kit / "assignments" / "metrics.py").read_text()
    first = stub.splitlines()[0]
    current = kit_catalog.versions["metrics"]
    (sub / "metrics.py").write_text(stub.replace(f"metrics: {current}", "metrics: 0123456789ab", 1))
    (sub / "activations.py").write_text((kit / "assignments" / "activations.py").read_text())
    submission = load_submission(sub, assignment_ids=catalog.ids)
    [problem] = stale_kit_problems(submission, catalog)
    assert problem.startswith("graded against a stale kit: metrics.py (line 1)")
    assert "0123456789ab" in problem and current in problem
    assert stale_kit_problems(submission, catalog, assignments=("activations",)) == []
    assert stale_kit_problems(submission, kit_catalog) == [problem]
    r = check(sub, assignments=("metrics",), device="cpu", worker=worker, catalog=catalog)
    assert r.problems == (problem,)
    # a line without the assignment part is compared with the kit version
    (sub / "metrics.py").write_text(stub.replace(first, "# grade-kit: fedcba987654"))
    [problem] = stale_kit_problems(load_submission(sub, assignment_ids=catalog.ids), catalog,
                                   assignments=("metrics",))
    assert "kit fedcba987654" in problem and kit_catalog.kit_info["version"] in problem


def test_header_line_round_trips():
    line = header_line("abcdef012345", "lstm", "0123456789ab")
    assert parse_headers("x = 1\n" + line + "\n")[0] == parse_headers(line)[0].__class__(
        kit="abcdef012345", assignment="lstm", assignment_version="0123456789ab", line=2)
    assert parse_headers("# grade-kit is great\n") == []


# ---------------------------------------------------------------------------
# the command


def test_release_command_builds_rebuilds_and_refuses(tmp_path):
    runner = CliRunner()
    out = tmp_path / "kit"
    r = runner.invoke(main, ["release", "--out", str(out), "-a", "activations"])
    assert r.exit_code == 0, r.output
    assert "kit " in r.output and "hidden cases left out" in r.output
    (out / ".git").mkdir()
    (out / ".git" / "keep").write_text("history")
    (out / "assignments" / "activations.py").write_text("# edited\n")
    r = runner.invoke(main, ["release", "--out", str(out), "-a", "activations", "-a", "metrics"])
    assert r.exit_code == 0, r.output
    assert (out / ".git" / "keep").read_text() == "history"
    assert (out / "assignments" / "activations.py").read_text().startswith("# grade-kit: ")
    assert load_kit(out).ids == ("activations", "metrics")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    r = runner.invoke(main, ["release", "--out", str(other)])
    assert r.exit_code == 2 and "refusing to write there" in r.output
    assert (other / "notes.txt").read_text() == "mine"
    r = runner.invoke(main, ["release", "--out", str(tmp_path / "x"), "-a", "nope"])
    assert r.exit_code == 2 and "unknown assignment 'nope'" in r.output
