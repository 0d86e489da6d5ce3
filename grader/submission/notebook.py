"""Read a Jupyter notebook as Jupyter runs it: code cells, one by one, IPython syntax translated.

Nothing here executes the notebook: it is read as text (with nbformat) and
every code cell becomes a :class:`NotebookCell` holding plain Python that the
sandbox runs in order, in one namespace, reporting each cell's exception with
its number without stopping the cells after it.

Translation keeps every cell's line count, so a line of the translated cell is
the same line of the student's cell (``cell 4, line 3``):

* IPython's own translator (:class:`IPython.core.inputtransformer2.TransformerManager`,
  the code Jupyter kernels run) turns line magics, shell lines and help lines
  into calls on ``get_ipython()`` (``%matplotlib inline`` →
  ``get_ipython().run_line_magic('matplotlib', 'inline')``,
  ``files = !ls`` → ``files = get_ipython().getoutput('ls')``); a magic continued
  over several lines with ``\\`` is padded with blank lines.  The sandbox
  provides a harmless ``get_ipython()`` (:mod:`grader.sandbox.inside.ipython`).
  Without IPython installed, those lines become ``pass``.
* ``%time STATEMENT`` and ``%timeit [options] STATEMENT`` run the statement
  itself (so ``%time W = train(W)`` still binds ``W``).
* A cell magic decides the whole cell: ``%%time``, ``%%timeit``, ``%%prun``,
  ``%%capture [NAME]`` and ``%%debug`` run their body as ordinary code in that
  cell (the magic line becomes a comment, or for ``%%capture NAME`` the call
  that binds NAME); ``%%writefile [-a] NAME`` (and ``%%file``) becomes a file
  the sandbox writes into its working folder; every other cell magic
  (``%%bash``, ``%%html``, ``%%javascript``...) cannot be emulated and is
  skipped with a note.
* A cell with a syntax error is skipped with a note (Jupyter would raise the
  error and run nothing of it); the other cells still run.

Notes (``SourceModule.notes``) name the cell and line of everything the
grader did not run as Jupyter would.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

__all__ = ["NotebookCell", "read_notebook", "translate_code", "cell_magic_plan", "RUN_BODY_MAGICS",
           "WRITEFILE_MAGICS"]

#: Cell magics whose body runs as ordinary code in the cell (their timing, profiling or capture is dropped).
RUN_BODY_MAGICS = frozenset({"time", "timeit", "prun", "capture", "debug"})
#: Cell magics that write their body to a file.
WRITEFILE_MAGICS = frozenset({"writefile", "file"})

_WHAT = {
    "bash": "a shell script", "sh": "a shell script", "script": "a script in another program",
    "system": "shell commands", "sx": "shell commands", "html": "HTML output", "HTML": "HTML output",
    "javascript": "JavaScript", "js": "JavaScript", "latex": "LaTeX output", "markdown": "Markdown output",
    "svg": "SVG output", "python": "Python in a separate process", "python3": "Python in a separate process",
    "python2": "Python 2", "pypy": "PyPy in a separate process", "perl": "Perl", "ruby": "Ruby",
    "sql": "SQL", "cython": "Cython", "R": "R code",
}


@dataclass(frozen=True)
class NotebookCell:
    """One code cell of a notebook, translated.

    Attributes:
        number: the cell's number in the notebook (1-based, counting every cell, markdown too).
        kind: ``"code"`` (run it), ``"writefile"`` (write ``source`` to ``writefile``),
            ``"skipped"`` (not run: a cell magic the grader cannot emulate, or a syntax error).
        source: for ``code``: the Python to run, with the cell's own line count;
            for ``writefile``: the file's content; for ``skipped``: the cell as written.
        original: the cell as the student wrote it.
        writefile: the file name of a ``%%writefile`` cell (relative, ``/``-separated).
        notes: what the grader did differently from Jupyter in this cell, each naming
            ``cell N`` (and the line where it matters).
        syntax_error: for a cell skipped because it is not valid Python: the message.
    """

    number: int
    kind: str
    source: str
    original: str
    writefile: str | None = None
    notes: tuple[str, ...] = ()
    syntax_error: str | None = None


# --------------------------------------------------------------------------- IPython's translator, line-preserving


def _ipython_manager():
    """A TransformerManager that keeps line counts and leaves cell magics to us; None without IPython."""
    try:
        from IPython.core import inputtransformer2 as it2
    except Exception:  # noqa: BLE001 - IPython missing or broken: fall back to our own translation
        return None
    if getattr(it2, "__file__", None) is None or not isinstance(getattr(it2, "TransformerManager", None), type):
        return None  # the sandbox's stand-in (grader.sandbox.inside.ipython), not IPython

    def keep_lines(base):
        class Padded(base):
            def transform(self, lines):
                new = super().transform(lines)
                lost = len(lines) - len(new)
                if lost > 0:  # a magic continued with "\": one line now, blank lines keep the count
                    at = self.start_line + 1
                    new[at:at] = ["\n"] * lost
                return new

        Padded.__name__ = base.__name__
        return Padded

    class Manager(it2.TransformerManager):
        def __init__(self):
            super().__init__()
            self.cleanup_transforms = []  # leading blank lines, indent and prompts: see _cleanup
            self.line_transforms = []  # cell magics: see cell_magic_plan
            self.token_transformers = [keep_lines(t) for t in (it2.MagicAssign, it2.SystemAssign,
                                                                it2.EscapedCommand, it2.HelpEnd)]

    Manager.prompt_strippers = (it2.classic_prompt, it2.ipython_prompt)
    return Manager()


_MANAGER = None
_MANAGER_LOADED = False


def _manager():
    global _MANAGER, _MANAGER_LOADED
    if not _MANAGER_LOADED:
        _MANAGER = _ipython_manager()
        _MANAGER_LOADED = True
    return _MANAGER


def _cleanup(lines: list[str], manager) -> list[str]:
    """IPython's cleanup (dedent a cell indented as a whole, strip ``>>>``/``In [1]:`` prompts),
    without removing leading blank lines (they count as lines of the cell)."""
    k = next((i for i, ln in enumerate(lines) if ln.strip()), len(lines))
    head, rest = lines[:k], lines[k:]
    if not rest:
        return lines
    m = re.match(r"[ \t]+", rest[0])
    if m:
        space = m.group(0)
        rest = [ln[len(space):] if ln.startswith(space) else ln for ln in rest]
    for strip in getattr(manager, "prompt_strippers", ()):
        rest = strip(rest)
    return head + rest


_TIMED = re.compile(r"^(?P<indent>[ \t]*)get_ipython\(\)\.run_line_magic\('(?P<name>time|timeit)', (?P<arg>.*)\)$")
_CALL = re.compile(r"get_ipython\(\)\.(?P<how>run_line_magic|getoutput|system)\((?P<args>.*)\)\s*$")
_TIMEIT_OPTS = re.compile(r"^\s*(?:-[nrp]\s*\d+\s+|-[tcqo]\s+)*")


def _literal_args(text: str) -> tuple:
    try:
        v = ast.literal_eval(f"({text},)")
    except (ValueError, SyntaxError):
        return ()
    return v if isinstance(v, tuple) else ()


def _post(line: str, number: int, lineno: int, notes: list[str]) -> str:
    """Our changes to one line IPython translated: ``%time``/``%timeit`` statements run as
    themselves; magics that cannot run here are noted."""
    body = line.rstrip("\n")
    m = _TIMED.match(body)
    if m:
        args = _literal_args(m.group("arg"))
        stmt = args[0] if args and isinstance(args[0], str) else ""
        if m.group("name") == "timeit":
            stmt = _TIMEIT_OPTS.sub("", stmt, count=1)
        if stmt.strip() and "\n" not in stmt:
            try:
                ast.parse(stmt)
            except SyntaxError:
                pass
            else:
                return m.group("indent") + stmt.strip() + "\n"
    c = _CALL.search(body)
    if c:
        args = _literal_args(c.group("args"))
        where = f"cell {number}, line {lineno}"
        if c.group("how") == "run_line_magic" and args and args[0] in ("run", "load", "loadpy"):
            notes.append(f"{where}: `%{args[0]} {args[1] if len(args) > 1 else ''}`".rstrip() +
                         " was not run: the grader runs only the notebook's own cells. "
                         "Paste that code into a cell.")
        elif c.group("how") == "getoutput" and args:
            notes.append(f"{where}: shell command `!{args[0]}` was not run (the grader runs no shell "
                         "commands); its output is an empty list.")
    return line


def _fallback(lines: list[str], number: int, notes: list[str]) -> list[str]:
    """Without IPython: IPython-only lines become ``pass`` (same indentation), the rest is unchanged."""
    out: list[str] = []
    depth, quote, backslash = 0, None, False
    for i, line in enumerate(lines):
        s = line.lstrip()
        if not (depth or quote or backslash) and _FALLBACK_MAGIC.match(s):
            indent = line[: len(line) - len(s)]
            notes.append(f"cell {number}, line {i + 1}: `{s.strip()[:60]}` was not run "
                         "(IPython is not installed where the grader runs).")
            out.append(f"{indent}pass  # grade: IPython line\n")
            backslash = line.rstrip().endswith("\\")
            continue
        depth, quote = _open_brackets(line, depth, quote)
        backslash = line.rstrip().endswith("\\") and not quote
        out.append(line)
    return out


_FALLBACK_MAGIC = re.compile(r"^(?:[%!]|[A-Za-z_][\w.]*\s*\?{1,2}\s*$|\?{1,2}[A-Za-z_]|[A-Za-z_]\w*\s*=\s*[%!])")


def _open_brackets(line: str, depth: int, quote: str | None) -> tuple[int, str | None]:
    """Bracket depth and open triple-quote after ``line`` (strings and comments skipped)."""
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
            if len(q) == 1:
                end = line.find(q, i + 1)
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


def translate_code(source: str, number: int = 0) -> tuple[str, tuple[str, ...]]:
    """Translate one code cell without a cell magic into Python with the same number of lines.

    Args:
        source: the cell as written (``\\n`` line ends).
        number: the cell's number, for notes.

    Returns:
        ``(python, notes)``; ``python`` ends with a newline and has one line per line of ``source``.
    """
    lines = _lines(source)
    manager = _manager()
    notes: list[str] = []
    if manager is None:
        out = _fallback(lines, number, notes)
    else:
        cleaned = _cleanup(lines, manager)
        try:
            out = manager.do_token_transforms(list(cleaned))
        except Exception:  # noqa: BLE001 - IPython gave up (pathological input): keep the cell as written
            out = cleaned
        if len(out) != len(lines):  # never expected; keep line numbers right above all
            out = cleaned
        out = [_post(ln, number, i + 1, notes) for i, ln in enumerate(out)]
    return "".join(out), tuple(notes)


def _lines(source: str) -> list[str]:
    """``source`` as lines with ``\\n`` ends, as Python's compiler counts them."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    return [ln + "\n" for ln in text.split("\n")[:-1]]


# --------------------------------------------------------------------------- cell magics


def _magic_line(lines: list[str]) -> tuple[int, str, str] | None:
    """``(index, name, arguments)`` of a cell magic opening the cell (after blank lines), else None."""
    for i, ln in enumerate(lines):
        if not ln.strip():
            continue
        s = ln.strip()
        if not s.startswith("%%") or re.match(r"%%\w+\?", s):
            return None
        name, _, args = s[2:].partition(" ")
        return i, name.strip(), args.strip()
    return None


def cell_magic_plan(name: str, args: str) -> tuple[str, str | None, bool]:
    """How a cell magic is graded: ``("run", None, False)``, ``("writefile", NAME, append)``
    or ``("skip", reason, False)``."""
    if name in RUN_BODY_MAGICS:
        return "run", None, False
    if name in WRITEFILE_MAGICS:
        parts = args.split()
        append = any(p in ("-a", "--append") for p in parts)
        names = [p for p in parts if not p.startswith("-")]
        if not names:
            return "skip", f"`%%{name}` has no file name", False
        target = " ".join(names).strip("'\"")
        p = PurePosixPath(target.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts or not p.parts:
            return "skip", f"`%%{name} {target}` writes outside the notebook's folder", False
        return "writefile", str(p), append
    what = _WHAT.get(name)
    why = f"it runs {what}" if what else "the grader does not know this cell magic"
    return "skip", f"`%%{name}` cells are not run ({why}); only Python cells are graded", False


def _capture_name(args: str) -> str | None:
    names = [p for p in args.split() if not p.startswith("-")]
    return names[0] if names and names[0].isidentifier() else None


# --------------------------------------------------------------------------- notebooks


def _syntax_error(source: str, original: str, number: int, display_name: str) -> str | None:
    """The message for a cell that is not valid Python (showing the student's own line), else None.

    Compiles without running (the compiler's checks too: ``return`` outside a function...)."""
    try:
        compile(source, f"cell {number}", "exec", dont_inherit=True)
    except SyntaxError as e:
        lines = original.splitlines()
        where = f"cell {number}" + (f", line {e.lineno}" if e.lineno else "")
        text = lines[e.lineno - 1] if e.lineno and 0 < e.lineno <= len(lines) else (e.text or "")
        text = text.rstrip("\n")
        caret = f"\n    {text}\n    {' ' * max((e.offset or 1) - 1, 0)}^" if text.strip() else ""
        return f"SyntaxError in {display_name} at {where}: {e.msg}{caret}"
    except ValueError as e:  # NUL bytes
        return f"SyntaxError in {display_name} at cell {number}: {e}"
    return None


def read_notebook(path, display_name: str | None = None) -> tuple[NotebookCell, ...]:
    """Read a notebook's code cells, translated (see the module docstring).

    Args:
        path: the ``.ipynb`` file.
        display_name: the name used in messages (default: the file's name).

    Raises:
        ValueError: the file is not a readable notebook (message names the file and the reason);
            :func:`grader.submission.load.load_submission` turns it into a ``SubmissionError``.
    """
    import nbformat

    name = display_name or os.path.basename(str(path))
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as e:  # noqa: BLE001 - nbformat raises several types
        first = str(e).splitlines()[0][:200] if str(e) else ""
        raise ValueError(f"{name}: not a readable Jupyter notebook ({type(e).__name__}: {first}).") from None
    cells: list[NotebookCell] = []
    written: dict[str, str] = {}
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        number = i + 1
        src = cell.get("source", "")
        if isinstance(src, list):
            src = "".join(src)
        if not isinstance(src, str):
            raise ValueError(f"{name}: not a readable Jupyter notebook (cell {number} has no text).")
        lines = _lines(src)
        original = "".join(lines)
        magic = _magic_line(lines)
        if magic is not None:
            k, mname, margs = magic
            plan, detail, append = cell_magic_plan(mname, margs)
            body = "".join(lines[k + 1:])
            if plan == "writefile":
                content = (written.get(detail, "") + body) if append else body
                written[detail] = content
                cells.append(NotebookCell(number, "writefile", content, original, writefile=detail))
                continue
            if plan == "skip":
                cells.append(NotebookCell(number, "skipped", original, original,
                                          notes=(f"cell {number}: skipped: {detail}.",)))
                continue
            # Run the body as ordinary code; the magic line becomes a comment (or binds %%capture's NAME).
            py_body, notes = translate_code("\n" * (k + 1) + body, number)
            body_lines = _lines(py_body)
            head = f"# %%{mname} {margs}".rstrip() + "  (grade: the cell's code runs as written)\n"
            var = _capture_name(margs) if mname == "capture" else None
            if var:
                head = f"get_ipython().run_cell_magic('capture', {margs!r}, '')  # %%capture\n"
            python = "".join(lines[:k]) + head + "".join(body_lines[k + 1:])
        else:
            python, notes = translate_code(original, number)
        err = _syntax_error(python, original, number, name)
        if err:
            cells.append(NotebookCell(number, "skipped", original, original,
                                      notes=(err + "\n(this cell was not run; the other cells were)",),
                                      syntax_error=err))
            continue
        cells.append(NotebookCell(number, "code", python, original, notes=notes))
    return tuple(cells)
