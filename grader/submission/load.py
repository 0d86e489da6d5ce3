"""Load submissions (folder, ``.py``, ``.ipynb``) as text.

A *submission* is read as text only: nothing of it is imported or executed
in the grader's process.  Its source is handed to the sandbox.

* a folder: ``<id>.py`` (or ``<id>.ipynb``) per assignment;
* one ``.py`` file holding any of the functions;
* one Jupyter notebook (read with nbformat): its code cells, run one by one
  as Jupyter runs them, IPython syntax translated
  (:mod:`grader.submission.notebook`); every message names the cell.

"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Cell", "SourceModule", "Submission", "SubmissionError", "load_submission", "read_source", "notebook_source",
           "read_notebook_module"]


_CELL_HEADER = re.compile(r"# --- notebook cell (\d+) ---$")
_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)", re.M)


from grader.errors import SubmissionError  # noqa: E402 - re-exported


@dataclass(frozen=True)
class Cell:
    """One unit the sandbox executes in order, in the module's namespace.

    A ``.py`` file is one cell (``number=0``); a notebook has one per code
    cell, already translated to Python (magics and shell lines made
    harmless). A cell that raises is reported with its number and does not
    stop the cells after it, as in Jupyter.

    Attributes:
        number: the notebook's cell number (1-based, counting every cell), 0 for a ``.py`` file.
        source: the Python source to run.
        filename: the name its code is compiled under (tracebacks show it).
        first_line: the line of the joined :attr:`SourceModule.source` where this cell starts (1-based).
        writefile: for a ``%%writefile NAME`` cell: NAME (the source is then the file's
            content, written into the sandbox's working folder instead of being run).
    """

    number: int
    source: str
    filename: str
    first_line: int = 1
    writefile: str | None = None


@dataclass(frozen=True)
class SourceModule:
    """One unit of student source code.

    Attributes:
        name: module name used in the sandbox (assignment id or file stem).
        filename: path shown in tracebacks.
        source: the Python source (for notebooks: the joined code cells).
        names: top-level names the module binds (functions, assignments, imports).
        syntax_error: a readable syntax error, or None.
        notes: what the loader changed or skipped (magics...), shown in every report.
        cells: what the sandbox runs, in order (empty: :attr:`source` as one cell).
        notebook: the module is a Jupyter notebook (the sandbox installs IPython's
            ``display``/``get_ipython`` helpers).
        unrun: ``(name, why)`` for functions and classes written in notebook cells that do not
            run (a syntax error, a ``%%bash`` cell...): see :meth:`why_missing`.
    """

    name: str
    filename: str
    source: str
    names: frozenset[str] = frozenset()
    syntax_error: str | None = None
    notes: tuple[str, ...] = ()
    cells: tuple[Cell, ...] = ()
    notebook: bool = False
    unrun: tuple[tuple[str, str], ...] = ()

    def why_missing(self, name: str) -> str | None:
        """Why ``name`` is not defined although the notebook writes it: ``"`softmax` is written in
        cell 4, which was not run: SyntaxError at cell 4, line 5: expected ':'"``; None if it is not
        written in a cell that did not run."""
        for n, why in self.unrun:
            if n == name:
                return f"`{name}` is written in {why}"
        return None

    def run_cells(self) -> tuple[Cell, ...]:
        """The cells to execute (a ``.py`` file: its whole source as one cell)."""
        return self.cells or (Cell(number=0, source=self.source, filename=self.filename),)

    def locate(self, filename: str | None, line: int | None) -> str | None:
        """Where a traceback frame or a run-time hit is, as the student sees it: ``"cell 4, line 3"``
        for a frame of a notebook cell (compiled under :attr:`Cell.filename`, with the cell's own line
        numbers), ``"line 12"`` for a frame of the ``.py`` file, None for anything else."""
        if not filename:
            return None
        for c in self.cells:
            if c.filename == filename:
                return f"cell {c.number}, line {line}" if line else f"cell {c.number}"
        if filename == self.filename and not self.notebook:
            return f"line {line}" if line else None
        return None

    def where(self, line: int | None) -> str:
        """A line of :attr:`source` as the student sees it: ``"line 12"``, or ``"cell 4, line 3"`` in a notebook."""
        if not line:
            return "an unknown line"
        if self.notebook:
            lines = self.source.splitlines()
            for k in range(min(line, len(lines)) - 1, -1, -1):
                m = _CELL_HEADER.match(lines[k])
                if m:
                    return f"cell {m.group(1)}, line {line - k - 1}"
        return f"line {line}"


@dataclass(frozen=True)
class Submission:
    """A student's submission: where it is and its modules.

    ``modules`` maps an assignment id to its module for folders; a single
    ``.py``/``.ipynb`` is stored under ``"*"`` and serves every assignment.
    """

    path: str
    kind: str
    modules: dict[str, SourceModule] = field(default_factory=dict)
    directory: str = ""

    def module_for(self, assignment_id: str) -> SourceModule | None:
        return self.modules.get(assignment_id) or self.modules.get("*")

    @property
    def single_file(self) -> bool:
        return "*" in self.modules


def read_source(path: Path) -> str:
    """Read a ``.py`` file as text.

    Raises:
        SubmissionError: the file has NUL bytes (binary) or is not UTF-8.
    """
    data = path.read_bytes()
    if b"\x00" in data:
        raise SubmissionError(f"{path.name}: this is binary data, not Python source.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SubmissionError(f"{path.name}: not UTF-8 text (byte {e.start}: {e.reason}). "
                              "Save the file as UTF-8.") from None


def notebook_source(path: Path) -> tuple[str, tuple[str, ...]]:
    """A notebook's joined translated source and its notes (see :func:`read_notebook_module`).

    Raises:
        SubmissionError: the file is not JSON or not a valid notebook.
    """
    m = read_notebook_module("notebook", path)
    return m.source, m.notes


def _comment(line: str) -> str:
    return "# " + line.rstrip("\n").replace("\x00", "\\x00") + "\n"


def read_notebook_module(name: str, path: Path) -> "SourceModule":
    """Read a notebook into a :class:`SourceModule` of cells run one by one, as Jupyter does.

    ``source`` joins every code cell under a ``# --- notebook cell N ---`` line,
    translated (:mod:`grader.submission.notebook`); cells the grader does not
    run (``%%bash``, ``%%writefile``, a syntax error) are there as comments,
    so the static scan and the list of defined names see exactly what runs.
    ``cells`` holds what the sandbox runs, each compiled under
    ``"<notebook path> [cell N]"`` with the cell's own line numbers.

    Raises:
        SubmissionError: the file is not JSON or not a valid notebook.
    """
    from grader.submission.notebook import read_notebook

    filename = str(path.resolve())
    try:
        nb_cells = read_notebook(path, display_name=path.name)
    except ValueError as e:
        raise SubmissionError(str(e)) from None
    parts: list[str] = []
    cells: list[Cell] = []
    notes: list[str] = []
    unrun: list[tuple[str, str]] = []
    line = 1
    for c in nb_cells:
        if c.kind == "skipped":
            why = (f"cell {c.number}, which was not run: " + (c.syntax_error.split("\n")[0].replace(
                f"SyntaxError in {path.name} at ", "SyntaxError at ") if c.syntax_error else c.notes[0].split(
                "skipped: ", 1)[-1].rstrip(".")))
            unrun.extend((m.group(1), why) for m in _DEF.finditer(c.original))
        parts.append(f"# --- notebook cell {c.number} ---\n")
        line += 1
        text = c.source if c.kind == "code" else "".join(_comment(ln) for ln in c.original.splitlines(True))
        if c.kind == "code":
            cells.append(Cell(number=c.number, source=c.source, filename=f"{filename} [cell {c.number}]",
                              first_line=line))
        elif c.kind == "writefile":
            cells.append(Cell(number=c.number, source=c.source, filename=f"{filename} [cell {c.number}]",
                              first_line=line, writefile=c.writefile))
        parts.append(text)
        line += text.count("\n")
        notes.extend(c.notes)
    source = "".join(parts)
    # Every cell compiles on its own (the others are skipped with a note), so the names are those of
    # the cells; the joined source is not compiled as one (a later cell's __future__ import...).
    names: frozenset[str] = frozenset()
    for c in cells:
        if c.writefile is None:
            names |= _names(c.source, filename)[0]
    unrun = [(n, why) for n, why in unrun if n not in names]
    return SourceModule(name=name, filename=filename, source=source, names=names, syntax_error=None,
                        notes=tuple(notes), cells=tuple(cells), notebook=True, unrun=tuple(unrun))


def _names(source: str, filename: str) -> tuple[frozenset[str], str | None]:
    try:
        tree = ast.parse(source, filename="<submission>")
    except SyntaxError as e:
        lines = source.splitlines()
        where = f"line {e.lineno}" + (f", column {e.offset}" if e.offset else "")
        text = lines[e.lineno - 1] if e.lineno and 0 < e.lineno <= len(lines) else (e.text or "")
        text = text.rstrip("\n")
        caret = f"\n    {text}\n    {' ' * max((e.offset or 1) - 1, 0)}^" if text else ""
        return frozenset(), f"SyntaxError in {os.path.basename(filename)} at {where}: {e.msg}{caret}"
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    names.add(t.id)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                names.add((a.asname or a.name).split(".")[0])  # "*" marks a star import: names unknown
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for sub in ast.walk(node):
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(sub.name)
    return frozenset(names), None


def _module(name: str, path: Path) -> SourceModule:
    if path.suffix == ".ipynb":
        return read_notebook_module(name, path)
    source = read_source(path)
    filename = str(path.resolve())
    names, err = _names(source, filename)
    return SourceModule(name=name, filename=filename, source=source, names=names, syntax_error=err)


def load_submission(path: str | os.PathLike, *, assignment_ids: tuple[str, ...] = ()) -> Submission:
    """Read a submission from a folder, a ``.py`` file or a ``.ipynb`` notebook.

    Args:
        path: where the submission is.
        assignment_ids: the known assignment ids (a folder's ``<id>.py`` files).

    Raises:
        SubmissionError: the path does not exist, is empty, or cannot be read.
    """
    p = Path(path)
    if not p.exists():
        raise SubmissionError(f"{path}: no such file or folder. Pass a folder of modules named by assignment id, "
                              "a .py file or a .ipynb notebook.")
    if p.is_dir():
        modules: dict[str, SourceModule] = {}
        for aid in assignment_ids:
            for ext in (".py", ".ipynb"):
                f = p / f"{aid}{ext}"
                if f.is_file():
                    modules[aid] = _module(aid, f)
                    break
        return Submission(path=str(p), kind="folder", modules=modules, directory=str(p.resolve()))
    if p.suffix not in (".py", ".ipynb"):
        raise SubmissionError(f"{p.name}: expected a folder, a .py file or a .ipynb notebook.")
    mod = _module(p.stem if p.stem.isidentifier() else "submission", p)
    return Submission(path=str(p), kind=p.suffix[1:], modules={"*": mod}, directory=str(p.parent.resolve()))
