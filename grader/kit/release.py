"""``grade release``: build the student kit.

The kit is a folder a course can publish as is (for example as a GitHub
template repository)::

    README.md                    for students: install, work, check, what the score means
    pyproject.toml               installs the grader below (``pip install -e .``)
    assignments/<id>.py          the stubs, first line ``# grade-kit: <kit>; <id>: <version>``
    grade_kit/manifest.json      the assignments, visible cases and versions (:mod:`grader.kit`)
    grade_kit/data/<id>.grd      visible inputs, expected outputs, mistake outputs (wire format, no pickle)
    grader/                      the grader package itself (no references, no specs)
    .github/workflows/grade.yml  the project's pull-request workflow, copied
    .github/CODEOWNERS           with ``--owner``: instructors own the grading files
    .gitignore

It contains no reference source, no spec source (specs hold the mistake
variants, which reveal the reference, and the hidden cases' generators) and
no hidden case.  :func:`leaks` checks the built folder for that before it is
put in place; a kit that fails the check is not written.
"""

from __future__ import annotations

import ast
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader import __version__
from grader.errors import ReleaseError
from grader.spec import SpecError

__all__ = ["Release", "ReleaseError", "build_kit", "leaks", "INSTALL_COMMAND", "CHECK_COMMAND", "project_root"]

#: The commands the kit's README and the workflow run (the workflow adds PyTorch's CPU index to the first).
INSTALL_COMMAND = "pip install torch==2.13.0 && pip install -e ."
CHECK_COMMAND = ("grade check assignments --junit reports/junit.xml --summary reports/summary.md "
                 "--html reports/grade.html --min-score {min_score}")

_SKIP_MODULES = {"kit/release.py", "cli/release.py", "catalog/lint.py", "cli/lint.py"}  # instructor-only: need the references
_SKIP_TEMPLATES = {"kit_readme.md.j2"}


@dataclass(frozen=True)
class Release:
    """What :func:`build_kit` wrote.

    Attributes:
        out: the kit's folder.
        version: the kit version.
        assignments: ``{id: version}``.
        visible_cases: visible cases shipped (cases, not dtype instances).
        hidden_cases: hidden cases left out.
        files: every file written, relative to ``out``.
        data_bytes: total size of ``grade_kit/data``.
    """

    out: Path
    version: str
    assignments: dict
    visible_cases: int
    hidden_cases: int
    files: tuple[str, ...]
    data_bytes: int


def project_root() -> Path:
    """The folder holding the ``grader`` package (the project's root in a checkout)."""
    return Path(__file__).resolve().parents[2]


def _min_score_from_workflow(text: str) -> str:
    m = re.search(r"^\s*MIN_SCORE:\s*\"?([0-9.]+)\"?", text, re.M)
    return m.group(1) if m else "0"


def _pyproject(project: Path) -> str:
    import tomllib

    deps = ["torch==2.13.0", "numpy", "click>=8.1", "jinja2>=3.1", "nbformat>=5.9", "rich>=13",
            "ipython>=8.0"]
    requires = ">=3.11"
    pp = project / "pyproject.toml"
    if pp.is_file():
        doc = tomllib.loads(pp.read_text(encoding="utf-8")).get("project", {})
        deps = list(doc.get("dependencies", deps))
        requires = doc.get("requires-python", requires)
    dep_lines = "".join(f"    {json.dumps(d)},\n" for d in deps)
    return f"""[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "grade"
version = "{__version__}"
description = "Student kit: the course's grader with the visible cases (hidden cases are graded by the instructor)"
requires-python = "{requires}"
# torch is pinned exactly: install `torch==2.13.0` first (see README.md); an open
# range would pull the newest CUDA build (gigabytes) on a machine without torch.
dependencies = [
{dep_lines}]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.scripts]
grade = "grader.cli:run"

[project.entry-points.pytest11]
grade = "grader.pytest_plugin"

[tool.setuptools.packages.find]
include = ["grader*"]

[tool.setuptools.package-data]
grader = ["templates/*"]
"""


_GITIGNORE = """__pycache__/
*.pyc
*.egg-info/
reports/
.pytest_cache/
"""


def _copy_grader(dest: Path) -> list[Path]:
    src = Path(__file__).resolve().parent.parent  # the grader package
    written = []
    for p in sorted(src.rglob("*")):
        rel = p.relative_to(src)
        if "__pycache__" in rel.parts or p.is_dir() or p.suffix in (".pyc", ".pyo"):
            continue
        if rel.as_posix() in _SKIP_MODULES:
            continue
        if rel.parts[0] == "templates" and rel.name in _SKIP_TEMPLATES:
            continue
        if p.suffix not in (".py", ".j2", ".html", ".css", ".js", ".md", ".txt", ".json", ".typed"):
            continue
        target = dest / "grader" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)
        written.append(target)
    return written


def _render_readme(**ctx) -> str:
    from jinja2 import Environment, PackageLoader

    env = Environment(loader=PackageLoader("grader", "templates"), autoescape=False, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["pts"] = lambda x: (f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x)))
    return env.get_template("kit_readme.md.j2").render(**ctx)


# ---------------------------------------------------------------------------
# leak check


def _body_dumps(source: str) -> set[str]:
    """Normalized ASTs of every function body (docstring dropped) with real content."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = list(node.body)
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                body = body[1:]
            if not body:
                continue
            if all(isinstance(s, (ast.Pass, ast.Raise)) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
                   for s in body):
                continue  # a stub: ``raise NotImplementedError`` / ``...`` / ``pass``
            out.add("\n".join(ast.dump(s, annotate_fields=False, include_attributes=False) for s in body))
    return out


def leaks(kit_dir: str | os.PathLike, catalog) -> list[str]:
    """Reasons the kit at ``kit_dir`` is unsafe to hand out; empty when it is clean.

    Checks every file: no function body equal to one of a reference or spec
    module (the references, and the specs' mistake variants and helpers), no
    spec file, no hidden case id (ids also used by a visible case are not
    secret), no hidden salt; and that the shipped data has exactly the
    visible instances.
    """
    from grader.kit.catalog import load_kit
    from grader.kit.payload import KIT_DIR

    kit = Path(kit_dir)
    ref = Path(catalog.reference_dir)
    secret_sources = [p for p in (*ref.glob("*.py"), *(ref / "specs").glob("*.py")) if p.is_file()]
    secret_bodies: dict[str, str] = {}
    secret_texts = []
    for p in secret_sources:
        text = p.read_text(encoding="utf-8", errors="replace")
        secret_texts.append((p, text.strip()))
        for b in _body_dumps(text):
            secret_bodies.setdefault(b, p.name)
    visible_ids = {c.id for a in catalog.assignments for f in a.functions for c in f.cases if not c.hidden}
    hidden_ids = {c.id for a in catalog.assignments for f in a.functions for c in f.cases if c.hidden} - visible_ids
    hidden_re = re.compile(r"(?<![\w])(" + "|".join(map(re.escape, sorted(hidden_ids))) + r")(?![\w])") \
        if hidden_ids else None
    salt = catalog.hidden_salt or ""
    problems: list[str] = []
    for p in sorted(kit.rglob("*")):
        if not p.is_file() or ".git" in p.relative_to(kit).parts:
            continue
        rel = p.relative_to(kit).as_posix()
        raw = p.read_bytes()
        if salt and salt.encode() in raw:
            problems.append(f"{rel}: contains the hidden-case salt")
        if p.suffix == ".grd":
            continue
        text = raw.decode("utf-8", errors="replace")
        for sp, st in secret_texts:
            if len(st) > 200 and st in text:
                problems.append(f"{rel}: contains the whole of {sp.parent.name}/{sp.name}")
        if p.suffix == ".py":
            for b in _body_dumps(text) & set(secret_bodies):
                problems.append(f"{rel}: a function body equals one in {secret_bodies[b]}")
        if hidden_re is not None:
            m = hidden_re.search(text)
            if m:
                problems.append(f"{rel}: names the hidden case {m.group(1)!r}")
    try:
        kcat = load_kit(kit / KIT_DIR)
        for a in kcat.assignments:
            full = catalog.get(a.id)
            for f in a.functions:
                want = {f"{c.id}/{dt}" for c in full.function(f.name).cases if not c.hidden for dt in c.dtypes}
                have = set(kcat._load_data(a.id).get(f.name, {}))
                if have != want:
                    problems.append(f"{KIT_DIR}/data/{a.id}.grd: {f.name} holds {sorted(have ^ want)} beyond the "
                                    "visible instances")
    except SpecError as e:
        problems.append(f"{KIT_DIR}: unreadable ({e})")
    return problems


# ---------------------------------------------------------------------------
# building


def _managed(out: Path) -> list[str] | None:
    """Files a previous kit in ``out`` wrote (None when ``out`` is not a kit)."""
    m = out / "grade_kit" / "manifest.json"
    if not m.is_file():
        return None
    try:
        return [str(f) for f in json.loads(m.read_text(encoding="utf-8")).get("files", [])]
    except ValueError:
        return []


def _place(tmp: Path, out: Path, files: list[str]) -> None:
    """Move the built kit from ``tmp`` into ``out``, replacing a previous kit's files, keeping the rest (``.git``)."""
    old = _managed(out) if out.exists() else None
    if old is not None:
        for rel in old + ["grade_kit"]:
            p = out / rel
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()
        for d in sorted({(out / r).parent for r in old}, key=lambda d: len(d.parts), reverse=True):
            try:
                if d != out and d.is_dir() and not any(d.iterdir()):
                    d.rmdir()
            except OSError:
                pass
    out.mkdir(parents=True, exist_ok=True)
    for rel in files:
        src, dst = tmp / rel, out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)


def build_kit(out: str | os.PathLike, *, reference_dir: str | os.PathLike | None = None,
              assignments: tuple[str, ...] = (), stubs_dir: str | os.PathLike | None = None,
              owners: tuple[str, ...] = (), force: bool = False, catalog=None) -> Release:
    """Build the student kit in ``out``.

    Args:
        out: the kit's folder: new, empty, or a kit built before (its files are
            replaced, anything else there, such as ``.git``, is kept).
        reference_dir: the project's references and ``specs/`` (default: as ``grade check``).
        assignments: assignment ids to ship (default: all).
        stubs_dir: the stubs (default: ``assignments/`` beside ``reference_dir``).
        owners: GitHub users or teams (``@org/teachers``) written to
            ``.github/CODEOWNERS`` as owners of the grading files.
        force: write into a non-empty folder that is not a kit (its files
            with the kit's names are replaced).
        catalog: a loaded project catalog (default: loaded from ``reference_dir``).

    Returns:
        A :class:`Release`.

    Raises:
        ReleaseError: a stub or the workflow is missing, ``out`` is unsafe, or the built kit leaks.
        SpecError: the specs or references are broken, or an assignment id is unknown.
    """
    from grader.kit.payload import KIT_DIR, MANIFEST, assignment_payload, combine_versions, header_line
    from grader.catalog.project import default_reference_dir, load_catalog
    from grader.sandbox.wire import encode

    out = Path(out)
    if catalog is None:
        ref = Path(reference_dir) if reference_dir else default_reference_dir()
        if not (ref / "specs").is_dir():
            raise ReleaseError(f"grade release needs the project's references: {ref / 'specs'} does not exist. "
                               "Run it in the project (not in a kit) or pass --reference DIR.")
        catalog = load_catalog(ref)
    if catalog.kind != "project":
        raise ReleaseError("grade release builds a kit from the project's references, not from another kit.")
    selected = [catalog.get(a) for a in assignments] if assignments else list(catalog.assignments)
    stubs = Path(stubs_dir) if stubs_dir else Path(catalog.reference_dir).parent / "assignments"
    project = project_root()
    workflow = project / ".github" / "workflows" / "grade.yml"
    if not workflow.is_file():
        raise ReleaseError(f"{workflow} is missing: the kit ships a copy of the project's workflow.")
    if out.exists() and not out.is_dir():
        raise ReleaseError(f"{out} exists and is not a folder.")
    if out.exists() and any(out.iterdir()) and _managed(out) is None and not force:
        raise ReleaseError(f"{out} is not empty and holds no kit: refusing to write there. Choose a new or empty "
                           "folder, or pass --force to replace the kit's files in it.")
    if out.resolve() in (project, Path(catalog.reference_dir)) or project.is_relative_to(out.resolve()):
        raise ReleaseError(f"{out} is the project itself (or holds it): choose a separate folder for the kit.")
    for a in selected:
        if not (stubs / f"{a.id}.py").is_file():
            raise ReleaseError(f"no stub {stubs / f'{a.id}.py'} for assignment {a.id}: the kit ships the stubs. "
                               "Pass --stubs DIR if they live elsewhere.")

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".grade-kit-", dir=str(out.parent.resolve())))
    try:
        entries, versions = [], {}
        blobs: dict[str, bytes] = {}
        visible = hidden = 0
        for a in selected:
            entry, data, version = assignment_payload(catalog, a)
            blob = encode(data, meta={"assignment": a.id, "format": 1, "version": version})
            blobs[a.id] = blob
            entry.update(data=f"data/{a.id}.grd", sha256=hashlib.sha256(blob).hexdigest())
            entries.append(entry)
            versions[a.id] = version
            visible += sum(len(f["cases"]) for f in entry["functions"])
            hidden += entry["hidden_cases"]
        kit_ver = combine_versions(versions)

        written: list[Path] = []

        def write(rel: str, content: str | bytes) -> None:
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content, encoding="utf-8")
            written.append(p)

        for aid, blob in blobs.items():
            write(f"{KIT_DIR}/data/{aid}.grd", blob)
        for a in selected:
            text = (stubs / f"{a.id}.py").read_text(encoding="utf-8")
            write(f"assignments/{a.id}.py", header_line(kit_ver, a.id, versions[a.id]) + "\n" + text)
        wf_text = workflow.read_text(encoding="utf-8")
        write(".github/workflows/grade.yml", wf_text)
        if owners:
            owner_list = " ".join(owners)
            write(".github/CODEOWNERS",
                  "# Grading files: changes need an instructor's review (enable branch protection with\n"
                  "# 'Require review from Code Owners' for this to take effect).\n"
                  + "".join(f"/{p} {owner_list}\n" for p in
                            (".github/", f"{KIT_DIR}/", "grader/", "pyproject.toml", "README.md")))
        assignments_md = project / "ASSIGNMENTS.md"
        if assignments_md.is_file():
            write("ASSIGNMENTS.md", assignments_md.read_text(encoding="utf-8"))
        write("pyproject.toml", _pyproject(project))
        write(".gitignore", _GITIGNORE)
        rows = [{"id": e["id"], "title": e["title"], "version": e["version"],
                 "visible_cases": sum(len(f["cases"]) for f in e["functions"]),
                 "visible_points": sum(c["points"] for f in e["functions"] for c in f["cases"]),
                 "hidden_cases": e["hidden_cases"], "hidden_points": e["hidden_points"], "max_score": e["max_score"]}
                for e in entries]
        min_score = _min_score_from_workflow(wf_text)
        write("README.md", _render_readme(version=kit_ver, rows=rows, install=INSTALL_COMMAND,
                                          check=CHECK_COMMAND.format(min_score=min_score), min_score=min_score,
                                          first=selected[0].id, grade_version=__version__,
                                          visible_max=sum(r["visible_points"] for r in rows),
                                          max_score=sum(r["max_score"] for r in rows)))
        written.extend(_copy_grader(tmp))

        files = sorted(p.relative_to(tmp).as_posix() for p in written)
        manifest = {
            "format": 1, "kit": "grade", "version": kit_ver, "grade_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "hidden_cases": hidden, "hidden_points": sum(e["hidden_points"] for e in entries),
            "max_score": sum(e["max_score"] for e in entries),
            "visible_max_score": sum(r["visible_points"] for r in rows),
            "assignments": entries,
            "files": files + [f"{KIT_DIR}/{MANIFEST}"],
        }
        write(f"{KIT_DIR}/{MANIFEST}", json.dumps(manifest, indent=1, allow_nan=False) + "\n")
        files = sorted(p.relative_to(tmp).as_posix() for p in written)

        found = leaks(tmp, catalog)
        if found:
            raise ReleaseError("the kit would leak reference material; nothing was written:\n  " + "\n  ".join(found))
        _place(tmp, out, files)
        return Release(out=out, version=kit_ver, assignments=versions, visible_cases=visible, hidden_cases=hidden,
                       files=tuple(files), data_bytes=sum(len(b) for b in blobs.values()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
