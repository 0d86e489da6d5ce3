"""The project's catalog: ``reference/specs/<id>.py`` specs and ``reference/<id>.py`` references.

The *catalog* is the set of assignments the grader knows. Each spec module
defines ``ASSIGNMENT`` (a :class:`grader.spec.Assignment`); the reference of
assignment ``<id>`` is ``reference/<id>.py``. Both are trusted instructor
code, imported in the grader's process only. Assignments sort by their
spec's ``position`` (then id): no list of ids lives in the harness.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from grader.spec import Assignment, SpecError

__all__ = ["ProjectCatalog", "Catalog", "load_catalog", "default_reference_dir"]


@dataclass(frozen=True)
class ProjectCatalog:
    """The assignments the grader knows, with their references.

    Attributes:
        reference_dir: folder holding ``<id>.py`` references and ``specs/``.
        assignments: loaded specs, in catalog order.
        references: assignment id -> loaded reference module (trusted code).
        hidden_salt: secret mixed into hidden cases' seeds.
    """

    reference_dir: str
    assignments: tuple[Assignment, ...]
    references: dict[str, ModuleType]
    hidden_salt: str = ""
    _instances: dict = field(default_factory=dict, compare=False, repr=False)

    def get(self, id: str) -> Assignment:
        for a in self.assignments:
            if a.id == id:
                return a
        known = ", ".join(a.id for a in self.assignments)
        raise SpecError(f"unknown assignment {id!r}; known: {known}")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.assignments)

    def secret_roots(self) -> tuple[str, ...]:
        return (self.reference_dir,)

    kind = "project"
    kit_info = None  # the project is not a kit

    def instances(self, assignment: Assignment, function, *, include_hidden: bool = True,
                  submission_key: str = "") -> list:
        """The graded instances of ``function`` (see :class:`grader.catalog.instances.Instance`), in case order.

        Visible instances are built once per catalog: every submission gets the
        same inputs. Hidden instances draw their inputs from the hidden salt
        *and* ``submission_key`` (a fingerprint of the submission), so what one
        report reveals about a hidden case does not fit the next submission.
        """
        from grader.catalog.instances import build_instances

        ref = self.references[assignment.id]
        key = (assignment.id, function.name)
        visible = self._instances.get(key)
        if visible is None:
            visible = build_instances(assignment, function, ref, include_hidden=False)
            self._instances[key] = visible
        if not include_hidden or not any(c.hidden for c in function.cases):
            return list(visible)
        hkey = (assignment.id, function.name, "hidden", submission_key)
        hidden = self._instances.get(hkey)
        if hidden is None:
            hidden = build_instances(assignment, function, ref, hidden_salt=f"{self.hidden_salt}|{submission_key}",
                                     cases=tuple(c for c in function.cases if c.hidden))
            stale = [k for k in self._instances if len(k) == 4 and k[:2] == key[:2]]
            for k in stale[:-16]:  # keep a few recent submissions' hidden instances
                self._instances.pop(k, None)
            self._instances[hkey] = hidden
        order = {c.id: i for i, c in enumerate(function.cases)}
        return sorted([*visible, *hidden], key=lambda i: (order[i.case.id], i.case.dtypes.index(i.dtype)))

    def arg_names(self, assignment: Assignment, function) -> list[str]:
        from grader.catalog.instances import arg_names

        return arg_names(getattr(self.references[assignment.id], function.name))


def default_reference_dir() -> Path:
    """``$GRADE_REFERENCE``, else ``./reference``, else the project's ``reference/`` beside ``grader/``."""
    env = os.environ.get("GRADE_REFERENCE")
    if env:
        return Path(env)
    here = Path.cwd() / "reference"
    if (here / "specs").is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "reference"


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SpecError(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except Exception as e:
        sys.modules.pop(name, None)
        raise SpecError(f"{path}: failed to load ({type(e).__name__}: {e})") from e
    return mod


_CACHE: dict[tuple, "ProjectCatalog"] = {}


def load_catalog(reference_dir: str | os.PathLike | None = None) -> "ProjectCatalog":
    """Load every ``specs/<id>.py`` and ``<id>.py`` under ``reference_dir``.

    Raises:
        SpecError: a spec or reference is missing, fails to import, or is inconsistent
            (a function of the spec is missing from the reference).
    """
    root = Path(reference_dir) if reference_dir else default_reference_dir()
    root = root.resolve()
    specs_dir = root / "specs"
    if not specs_dir.is_dir():
        raise SpecError(f"no assignment specs found: {specs_dir} does not exist. Pass --reference DIR or set "
                        "GRADE_REFERENCE to a folder holding <id>.py references and specs/<id>.py specs.")
    files = sorted(p for p in specs_dir.glob("*.py") if p.stem.isidentifier() and not p.stem.startswith("_"))
    key = (str(root),) + tuple((str(p), p.stat().st_mtime_ns) for p in files)
    if key in _CACHE:
        return _CACHE[key]
    assignments: list[Assignment] = []
    references: dict[str, ModuleType] = {}
    for f in files:
        mod = _load_module(f"grade_specs.{f.stem}", f)
        a = getattr(mod, "ASSIGNMENT", None)
        if not isinstance(a, Assignment):
            raise SpecError(f"{f}: must define ASSIGNMENT = grader.spec.Assignment(...)")
        if a.id != f.stem:
            raise SpecError(f"{f}: ASSIGNMENT.id is {a.id!r} but the file is named {f.stem}.py")
        ref_path = root / f"{a.id}.py"
        if not ref_path.is_file():
            raise SpecError(f"{f}: reference {ref_path} is missing")
        ref = _load_module(f"grade_reference.{a.id}", ref_path)
        for fn in a.functions:
            if not callable(getattr(ref, fn.name, None)):
                raise SpecError(f"{ref_path}: reference has no function {fn.name!r} named in the spec")
        assignments.append(a)
        references[a.id] = ref
    assignments.sort(key=lambda a: (a.position, a.id))
    salt = os.environ.get("GRADE_HIDDEN_SALT", "")
    salt_file = root / "specs" / ".hidden_salt"
    if not salt and salt_file.is_file():
        salt = salt_file.read_text().strip()
    cat = ProjectCatalog(reference_dir=str(root), assignments=tuple(assignments), references=references, hidden_salt=salt)
    _CACHE[key] = cat
    return cat


#: Backwards-compatible name of :class:`ProjectCatalog`.
Catalog = ProjectCatalog
