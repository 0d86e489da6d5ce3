"""The package's shape (issue 10): a newcomer finds their room in one look, and an assignment is three files.

* no module over ~500 lines, no import cycle between modules at import time;
* no assignment id in the harness;
* one status order (:class:`grader.status.Status`) and one error handler (the CLI group);
* importing the CLI stays light (no torch);
* a toy assignment (stub, reference, spec, fixtures: tests/fixtures/toy) is listed in the order its spec
  asks, graded, and linted, with no edit anywhere else;
* tests mirror the package: tests/<part>/ tests grader/<part>/ (tests/reference/ the references), the top
  of tests/ holds only tests of top-level modules, and pytest never imports the data folders.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
GRADER = ROOT / "grader"
TOY = ROOT / "tests" / "fixtures" / "toy"
MODULES = sorted(p for p in GRADER.rglob("*.py") if "__pycache__" not in p.parts)


def _name(p: Path) -> str:
    rel = p.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(GRADER)))
def test_no_module_is_over_500_lines(path):
    n = len(path.read_text().splitlines())
    assert n <= 520, f"{path.relative_to(ROOT)} has {n} lines: split it by role"


def test_no_import_cycle_at_import_time():
    """Module-level imports between grader modules form no cycle (imports inside functions are lazy by design)."""
    names = {_name(p): p for p in MODULES}
    graph = {}
    for name, p in names.items():
        deps = set()
        for node in ast.parse(p.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("grader"):
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    deps.add(full if full in names else node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("grader"))
        graph[name] = {d for d in deps if d in names and d != name}
    state: dict[str, int] = {}

    def visit(n, stack):
        state[n] = 1
        for d in graph[n]:
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(d):], d]))
            if d not in state:
                visit(d, [*stack, d])
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n, [n])


def test_no_assignment_id_in_the_harness():
    from grader.catalog.project import load_catalog

    # ids that are also ordinary words ("losses" as a dict key) are covered by the 'activations' check below
    ids = set(load_catalog(ROOT / "reference").ids) - {"init", "metrics", "losses", "layers", "attention"}
    found = []
    for p in MODULES:
        text = p.read_text()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in ids:
                found.append(f"{p.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
        if "activations" in text:
            found.append(f"{p.relative_to(ROOT)}: mentions 'activations'")
    assert not found, "\n".join(found)


def test_one_status_order():
    """Only grader/status.py spells out the list of case statuses."""
    statuses = {"passed", "failed", "banned", "not_implemented", "error", "timeout", "skipped"}
    offenders = []
    for p in MODULES:
        if p.name == "status.py":
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                consts = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if len(consts & statuses) >= 5:
                    offenders.append(f"{p.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders


def test_one_error_handler():
    """Commands raise GradeError; only the CLI group turns it into a message and an exit code."""
    offenders = []
    for p in (GRADER / "cli").glob("*.py"):
        if p.name == "__init__.py":
            continue
        text = p.read_text()
        for bad in ("except GradeError", "except SpecError", "except SubmissionError", "sys.exit(2)"):
            if bad in text:
                offenders.append(f"{p.name}: {bad}")
    assert not offenders, offenders


def test_importing_the_cli_stays_light():
    code = "import sys, grader.cli; print('torch' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.split() == ["False", "False"], out


# --------------------------------------------------------------------------- a toy assignment


@pytest.fixture(scope="module")
def toy_reference(tmp_path_factory):
    """The project's references plus the toy's three files, in a fresh folder (nothing of the project edited)."""
    import shutil

    root = tmp_path_factory.mktemp("toyproject")
    shutil.copytree(ROOT / "reference", root / "reference", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "assignments", root / "assignments")
    shutil.copy(TOY / "reference" / "toy.py", root / "reference" / "toy.py")
    shutil.copy(TOY / "reference" / "specs" / "toy.py", root / "reference" / "specs" / "toy.py")
    shutil.copy(TOY / "assignments" / "toy.py", root / "assignments" / "toy.py")
    return root


def test_a_toy_assignment_is_listed_first_as_its_spec_asks(toy_reference):
    from grader.cli import main

    r = CliRunner().invoke(main, ["list", "--reference", str(toy_reference / "reference")])
    assert r.exit_code == 0, r.output
    rows = [ln.split()[0] for ln in r.output.splitlines()[1:] if ln and not ln.startswith(" ")]
    assert rows[:2] == ["toy", "activations"], rows[:3]


def test_a_toy_assignment_is_graded_and_its_mistake_named(toy_reference, worker):
    from grader.api import check
    from grader.catalog.project import load_catalog

    catalog = load_catalog(toy_reference / "reference")
    good = check(TOY / "submissions" / "correct.py", assignments=("toy",), device="cpu", worker=worker,
                 catalog=catalog)
    assert good.score == good.max_score > 0
    bad = check(TOY / "submissions" / "clamp_no_lower_bound.py", assignments=("toy",), device="cpu", worker=worker,
                catalog=catalog)
    assert bad.score < bad.max_score
    assert {c.diagnosis.id for c in bad.cases() if c.diagnosis} == {"clamp_no_lower_bound"}


def test_a_toy_assignment_is_linted_like_every_other(toy_reference):
    from grader.api import lint_spec

    assert lint_spec(reference_dir=toy_reference / "reference", assignments=("toy",)) == []
    # and the lint is not vacuous: a stub whose signature strays from the reference's is reported
    stub = toy_reference / "assignments" / "toy.py"
    text = stub.read_text()
    stub.write_text(text.replace("def clamp01(x):", "def clamp01(x, low=0.0):"))
    try:
        problems = lint_spec(reference_dir=toy_reference / "reference", assignments=("toy",))
    finally:
        stub.write_text(text)
    assert [p.check for p in problems] == ["signature"]


# --------------------------------------------------------------------------- tests mirror the package

# tests/<folder>/ holds the tests of the package part of the same name (the references' tests: tests/reference/).
TEST_FOLDERS = {
    "batch": "grader/batch",
    "catalog": "grader/catalog",
    "cli": "grader/cli",
    "judge": "grader/judge",
    "kit": "grader/kit",
    "report": "grader/report",
    "sandbox": "grader/sandbox",
    "submission": "grader/submission",
    "reference": "reference",
}
# tests/ itself holds only the tests of top-level modules, and the end-to-end run of every fixture.
TOP_LEVEL = {
    "test_results.py": "grader/results.py",
    "test_pytest_plugin.py": "grader/pytest_plugin.py",
    "test_layout.py": "grader",
    "test_submissions.py": "grader/api.py",
}
# Still at the top while another change finishes them; where they go.
NOT_MOVED_YET: dict[str, str] = {}
# Data, not tests (tests/conftest.py keeps pytest from collecting them).
DATA_FOLDERS = ("submissions", "hostile", "fixtures")
# Test files that do not name their package part in their text, and what they test there.
UNNAMED_PART = {
    "judge/test_statistics.py": "the statistical properties (grader.judge.properties) of the init cases",
    "kit/test_workflow.py": "the CI workflow the kit ships (.github/workflows/grade.yml)",
    "batch/test_hostile_class.py": "grade batch (grader.batch) over a class of every hostile submission",
}


def misplaced_tests(tests_dir: Path, root: Path) -> list[str]:
    """Test files (``test_*.py``, ``*_test.py``: what pytest collects) that are not where their package part says.

    Files under the data folders (DATA_FOLDERS) are not collected and not checked.  A file at the top of
    ``tests_dir`` must be listed in TOP_LEVEL (or NOT_MOVED_YET); one in a folder must be
    in a folder of TEST_FOLDERS, in a subfolder mirroring one of the package (``tests/sandbox/inside/`` for
    ``grader/sandbox/inside/``), and name ``grader.<part>`` (or ``grader/<part>``) somewhere in its text,
    unless UNNAMED_PART says what it tests; ``tests/reference/test_<id>.py`` needs ``reference/<id>.py``.
    """
    out = []
    files = sorted({*tests_dir.rglob("test_*.py"), *tests_dir.rglob("*_test.py")})
    for p in files:
        rel = p.relative_to(tests_dir)
        where = f"tests/{rel.as_posix()}"
        if rel.parts[0] in DATA_FOLDERS:
            continue
        if len(rel.parts) == 1:
            if rel.name not in TOP_LEVEL and rel.name not in NOT_MOVED_YET:
                out.append(f"{where}: the top of tests/ is for top-level modules ({', '.join(TOP_LEVEL)}); move it "
                           f"to tests/<part>/ for the package part it tests ({', '.join(TEST_FOLDERS)})")
            continue
        folder, *sub = rel.parts[:-1]
        if folder not in TEST_FOLDERS:
            out.append(f"{where}: tests/{folder}/ mirrors no package part (folders: {', '.join(TEST_FOLDERS)})")
            continue
        part = root / TEST_FOLDERS[folder] / Path(*sub) if sub else root / TEST_FOLDERS[folder]
        if not part.is_dir():
            out.append(f"{where}: {part.relative_to(root)}/ does not exist: subfolders of tests/{folder}/ mirror "
                       f"those of {TEST_FOLDERS[folder]}/")
            continue
        if folder == "reference":
            aid = rel.stem.removeprefix("test_").removesuffix("_test")
            if not (part / f"{aid}.py").is_file():
                out.append(f"{where}: reference/{aid}.py does not exist: tests/reference/ holds test_<id>.py for "
                           "the references reference/<id>.py")
            continue
        dotted = ".".join(part.relative_to(root).parts)
        text = p.read_text()
        named = dotted in text or part.relative_to(root).as_posix() in text
        if not named and rel.as_posix() not in UNNAMED_PART:
            out.append(f"{where}: never names {dotted}: is it in the folder of the part it tests? (if it is, say "
                       "what it tests in UNNAMED_PART)")
    return out


def test_mapped_parts_exist():
    missing = [f"{k}: {v}" for k, v in {**TEST_FOLDERS, **TOP_LEVEL}.items() if not (ROOT / v).exists()]
    assert not missing, missing
    # a folder is named after its package part (tests/report/ for grader/report/)
    assert all(v.rsplit("/", 1)[-1] == k for k, v in TEST_FOLDERS.items())
    assert set(NOT_MOVED_YET.values()) <= set(TEST_FOLDERS)


def test_every_test_file_sits_in_the_folder_of_its_package_part():
    bad = misplaced_tests(ROOT / "tests", ROOT)
    assert not bad, "\n".join(bad)


def test_misplaced_test_files_are_found(tmp_path):
    """The check is not vacuous: each kind of misplaced file is reported, and only those."""
    t = tmp_path / "tests"
    files = {
        "test_results.py": "from grader.results import GradeResult",
        "test_compare.py": "from grader.judge.compare import compare",                 # top level, not top-level module
        "judge/test_scan.py": "from grader.judge.scan import scan",
        "judge/test_html.py": "from grader.report.html import render_html",           # wrong folder
        "helpers/test_misc.py": "import grader",                                      # no such part
        "sandbox/inside/test_child.py": "from grader.sandbox.inside import child",
        "sandbox/outside/test_x.py": "from grader.sandbox import worker",             # no grader/sandbox/outside/
        "reference/test_activations.py": "",
        "reference/test_nosuch.py": "",                                                # no reference/nosuch.py
        "fixtures/test_data.py": "",                                                   # data: not collected
    }
    for rel, text in files.items():
        (t / rel).parent.mkdir(parents=True, exist_ok=True)
        (t / rel).write_text(text + "\n")
    found = {line.split(":", 1)[0] for line in misplaced_tests(t, ROOT)}
    assert found == {"tests/test_compare.py", "tests/judge/test_html.py", "tests/helpers/test_misc.py",
                     "tests/sandbox/outside/test_x.py", "tests/reference/test_nosuch.py"}


def test_pytest_never_imports_the_data_folders(request):
    """Student submissions, hostile code and fixture projects are not test modules, whatever their names
    (``tests/submissions/buggy/layers/dropout_scaled_at_test.py`` matches ``*_test.py``)."""
    hook, config = request.config.hook, request.config
    for d in DATA_FOLDERS:
        assert hook.pytest_ignore_collect(collection_path=ROOT / "tests" / d, config=config), \
            f"pytest would collect (import) the files of tests/{d}/: list it in tests/conftest.py's collect_ignore"
    for kept in ("test_submissions.py", "judge", "reference"):
        assert not hook.pytest_ignore_collect(collection_path=ROOT / "tests" / kept, config=config), kept
