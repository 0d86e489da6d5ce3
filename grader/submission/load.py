"""Load submissions (folder, ``.py``, ``.ipynb``) as text.

A *submission* is read as text only: nothing of it is imported or executed
in the grader's process.  Its source is handed to the sandbox.

* a folder: ``<id>.py`` (or ``<id>.ipynb``) per assignment;
* one ``.py`` file holding any of the functions;
* one Jupyter notebook (read with nbformat): code cells are joined; IPython
  magics (``%...``, ``%%cell``), shell lines (``!...``) and help lines
  (``x?``) are replaced by ``pass`` so line numbers and blocks stay intact.

"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Cell", "SourceModule", "Submission", "SubmissionError", "load_submission", "read_source", "notebook_source"]


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
    """

    name: str
    filename: str
    source: str
    names: frozenset[str] = frozenset()
    syntax_error: str | None = None
    notes: tuple[str, ...] = ()
    cells: tuple[Cell, ...] = ()
    notebook: bool = False

    def run_cells(self) -> tuple[Cell, ...]:
        """The cells to execute (a ``.py`` file: its whole source as one cell)."""
        return self.cells or (Cell(number=0, source=self.source, filename=self.filename),)

    def where(self, line: int | None) -> str:
        """A line of :attr:`source` as the student sees it: ``"line 12"``, or ``"cell 4, line 3"`` in a notebook."""
        if not line:
            return "an unknown line"
        for c in reversed(self.cells):
            if c.number and line >= c.first_line:
                return f"cell {c.number}, line {line - c.first_line + 1}"
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


_MAGIC = re.compile(r"^(?:[%!]|[A-Za-z_][\w.]*\s*\?{1,2}\s*$|\?{1,2}[A-Za-z_]|[A-Za-z_]\w*\s*=\s*[%!])")


def _open_brackets(line: str, depth: int, quote: str | None) -> tuple[int, str | None]:
    """Bracket depth and open triple-quote after ``line`` (a small scanner; strings and comments skipped)."""
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if quote:
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
            i += 2 if c == "\\" else 1
            continue
        if c == "#":
            break
        if c in "\"'":
            q = line[i:i + 3] if line[i:i + 3] in ('"""', "'''") else c
            end = line.find(q, i + len(q)) if len(q) == 1 else -1
            if len(q) == 1:
                while end != -1 and line[end - 1] == "\\":
                    end = line.find(q, end + 1)
                i = (end + 1) if end != -1 else n
                continue
            quote = q
            i += 3
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)
        i += 1
    return depth, quote


def _strip_notebook_line(line: str, *, continuation: bool = False) -> tuple[str, bool]:
    """Replace an IPython-only line (magic, shell escape, help) by ``pass``; only at the
    start of a logical line (``continuation`` says the line continues a previous one)."""
    s = line.lstrip()
    if not continuation and _MAGIC.match(s):
        indent = line[: len(line) - len(s)]
        return f"{indent}pass  # grade: skipped IPython line", True
    return line, False


def notebook_source(path: Path) -> tuple[str, tuple[str, ...]]:
    """Join a notebook's code cells into Python source.

    Raises:
        SubmissionError: the file is not JSON or not a valid notebook.
    """
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as e:  # nbformat raises several types
        raise SubmissionError(f"{path.name}: not a readable Jupyter notebook ({type(e).__name__}: "
                              f"{str(e).splitlines()[0][:200] if str(e) else ''}).") from None
    parts: list[str] = []
    notes: list[str] = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        if isinstance(src, list):
            src = "".join(src)
        lines = src.splitlines()
        parts.append(f"# --- notebook cell {i + 1} ---")
        if lines and lines[0].lstrip().startswith("%%"):
            notes.append(f"cell {i + 1}: skipped cell magic {lines[0].strip()[:40]}")
            parts.extend("# grade: skipped cell magic" for _ in lines)
            continue
        depth, quote, backslash = 0, None, False
        for line in lines:
            new, skipped = _strip_notebook_line(line, continuation=bool(depth or quote or backslash))
            if skipped:
                notes.append(f"cell {i + 1}: skipped {line.strip()[:60]}")
            else:
                depth, quote = _open_brackets(line, depth, quote)
            backslash = line.rstrip().endswith("\\") and not quote
            parts.append(new)
    return "\n".join(parts) + "\n", tuple(notes)


def _names(source: str, filename: str) -> tuple[frozenset[str], str | None]:
    try:
        tree = ast.parse(source, filename="<submission>")
    except SyntaxError as e:
        lines = source.splitlines()
        where = f"line {e.lineno}" + (f", column {e.offset}" if e.offset else "")
        if filename.endswith(".ipynb") and e.lineno:
            for k in range(min(e.lineno, len(lines)) - 1, -1, -1):
                m = re.match(r"# --- notebook cell (\d+) ---", lines[k])
                if m:
                    where = f"cell {m.group(1)}, line {e.lineno - k - 1}"
                    break
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
        source, notes = notebook_source(path)
    else:
        source, notes = read_source(path), ()
    filename = str(path.resolve())
    names, err = _names(source, filename)
    return SourceModule(name=name, filename=filename, source=source, names=names, syntax_error=err, notes=notes)


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
