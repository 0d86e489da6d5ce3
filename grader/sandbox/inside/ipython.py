"""Harmless IPython stand-ins for a notebook run in the sandbox (standard library only).

A notebook's cells, translated by :mod:`grader.submission.notebook`, call
``get_ipython().run_line_magic(...)``, ``get_ipython().system(...)``,
``get_ipython().getoutput(...)``, and use ``display(...)`` as Jupyter's
builtins.  :func:`install` puts a stand-in ``get_ipython`` and ``display``
into the notebook's namespace, and serves small stand-in modules for
``import IPython``, ``from IPython.display import display, HTML, clear_output``,
``from IPython.core.interactiveshell import InteractiveShell`` and any other
``IPython.*`` module, whether or not IPython is installed (the real one,
outside a kernel, returns ``None`` from ``get_ipython()`` and costs half a
second to import).

Nothing here runs a shell command, shows anything, or reaches outside the
process: shell lines do nothing (``!cmd`` returns None, ``x = !cmd`` an empty
list), displays do nothing, line magics that only configure the front end
(``%matplotlib``, ``%load_ext``, ``%config``...) do nothing.  The few that
run Python (``%time``, ``%timeit``, ``%%time``, ``%%capture``...) run it in the
notebook's namespace; ``%%writefile`` writes into the working folder.

This module runs inside the student's process: the student may change
anything in it, which only affects their own run.
"""

from __future__ import annotations

import os
import shlex
import sys

__all__ = ["install", "Shell"]

# Everything a notebook may legitimately change (the stand-in modules, their classes) is made at run
# time and kept out of this module's namespace: the sandbox treats the grader's own modules and classes
# as read-only once the student's code runs.

#: What ``IPython.version_info`` says (matplotlib uses the modern code path for >= 8.24).
VERSION_INFO = (9, 0, 0, "")


class _Stub:
    """Anything: every attribute is a stub, calling it returns a stub (or the function it decorates)."""

    def __init__(self, *args, **kwargs) -> None:
        self._args = args

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]):
            return args[0]  # used as a decorator
        return _Stub()

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _Stub()

    def __iter__(self):
        return iter(())

    def __repr__(self) -> str:
        return "<IPython stand-in (grade)>"


class _DisplayObject:
    """Stand-in for IPython's rich display classes (``HTML``, ``Markdown``, ``Image``...): keeps its data."""

    def __init__(self, data=None, *args, **kwargs) -> None:
        self.data = data
        self.metadata = kwargs.get("metadata") or {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object>"

    def _repr_html_(self):
        return self.data if isinstance(self.data, str) else None

    def _repr_markdown_(self):
        return self.data if isinstance(self.data, str) else None


class DisplayHandle:
    """Stand-in for ``IPython.display.DisplayHandle``: every method does nothing."""

    def __init__(self, display_id=None) -> None:
        self.display_id = display_id or "grade"

    def display(self, obj, **kwargs) -> None:
        return None

    def update(self, obj, **kwargs) -> None:
        return None


def display(*objs, **kwargs):
    """Jupyter's ``display``: shows nothing here; returns a handle when ``display_id`` is asked for."""
    return DisplayHandle(kwargs["display_id"]) if kwargs.get("display_id") else None


def _nothing(*args, **kwargs) -> None:
    return None


class SList(list):
    """The list of output lines of ``x = !cmd`` (always empty here), with IPython's ``.s``, ``.n``, ``.l``."""

    @property
    def s(self) -> str:
        return " ".join(self)

    @property
    def n(self) -> str:
        return "\n".join(self)

    nlstr = n
    spstr = s

    @property
    def l(self) -> "SList":  # noqa: E743 - IPython's name
        return self

    @property
    def p(self) -> list:
        return list(self)

    def grep(self, *args, **kwargs) -> "SList":
        return SList()

    def fields(self, *args) -> "SList":
        return SList()


class CapturedIO:
    """What ``%%capture NAME`` binds NAME to: output was not captured here, so everything is empty."""

    stdout = ""
    stderr = ""
    outputs: list = []

    def show(self) -> None:
        return None

    __call__ = show


class _Events:
    def register(self, *args, **kwargs) -> None:
        return None

    unregister = register

    def trigger(self, *args, **kwargs) -> None:
        return None


_TIMEIT_VALUED = ("-n", "-r", "-p")
_TIMEIT_FLAGS = ("-t", "-c", "-q", "-o")


def _strip_timeit_options(line: str) -> str:
    words = line.lstrip()
    while words.startswith("-"):
        head, _, rest = words.partition(" ")
        if head in _TIMEIT_VALUED:
            _, _, rest = rest.lstrip().partition(" ")
        elif head[:2] in _TIMEIT_VALUED and head[2:].isdigit() or head in _TIMEIT_FLAGS:
            pass
        else:
            break
        words = rest.lstrip()
    return words


class Shell:
    """Stand-in for the ``InteractiveShell`` that ``get_ipython()`` returns in Jupyter.

    Attributes:
        user_ns: the notebook's namespace.
        config: an empty configuration.
        events: callbacks registry that registers nothing.
    """

    def __init__(self, namespace: dict) -> None:
        self.user_ns = namespace
        self.user_global_ns = namespace
        self.config: dict = {}
        self.events = _Events()
        self.display_formatter = _Stub()
        self.kernel = None
        self.execution_count = 1

    # --- running Python in the notebook's namespace
    def _run(self, code: str, what: str):
        try:
            compiled = compile(code, f"<{what}>", "eval")
        except SyntaxError:
            exec(compile(code, f"<{what}>", "exec"), self.user_ns)
            return None
        return eval(compiled, self.user_ns)

    def ex(self, cmd: str) -> None:
        """Run ``cmd`` (statements) in the notebook's namespace."""
        exec(compile(cmd, "<ex>", "exec"), self.user_ns)

    def ev(self, expr: str):
        """Evaluate ``expr`` in the notebook's namespace."""
        return eval(compile(expr, "<ev>", "eval"), self.user_ns)

    def push(self, variables, interactive: bool = True) -> None:
        """Add ``variables`` (a dict) to the notebook's namespace."""
        if isinstance(variables, dict):
            self.user_ns.update(variables)

    # --- magics
    def run_line_magic(self, magic_name: str, line: str = "", _stack_depth: int = 1):
        """``%name line``: ``time``/``timeit``/``prun`` run the statement once; ``env`` reads the
        environment; ``pwd`` gives the working folder; every other line magic does nothing."""
        name = str(magic_name).lstrip("%")
        line = str(line)
        if name in ("time", "prun") and line.strip():
            return self._run(line.strip(), f"%{name}")
        if name == "timeit" and line.strip():
            code = _strip_timeit_options(line)
            if code.strip():
                self._run(code.strip(), "%timeit")
            return None
        if name == "env":
            if not line.strip():
                return dict(os.environ)
            if "=" in line or " " in line.strip():
                return None  # setting variables: not allowed in the sandbox, and harmless to skip
            return os.environ.get(line.strip())
        if name == "pwd":
            return os.getcwd()
        if name == "who_ls":
            return sorted(k for k in self.user_ns if not k.startswith("_"))
        if name in ("sx", "system"):
            return SList()
        return None

    def run_cell_magic(self, magic_name: str, line: str, cell: str):
        """``%%name line`` + ``cell``: ``time``, ``timeit``, ``prun``, ``debug`` run the cell's code;
        ``capture [NAME]`` binds NAME to an empty :class:`CapturedIO` and runs it; ``writefile [-a] NAME``
        writes it into the working folder; every other cell magic does nothing."""
        name = str(magic_name).lstrip("%")
        if name == "capture":
            names = [w for w in str(line).split() if not w.startswith("-")]
            if names and names[0].isidentifier():
                self.user_ns[names[0]] = CapturedIO()
        if name in ("time", "timeit", "prun", "debug", "capture"):
            if cell and cell.strip():
                exec(compile(cell, f"<%%{name}>", "exec"), self.user_ns)
            return None
        if name in ("writefile", "file"):
            try:
                words = shlex.split(str(line))
            except ValueError:
                words = str(line).split()
            append = any(w in ("-a", "--append") for w in words)
            target = " ".join(w for w in words if not w.startswith("-"))
            if target:
                with open(target, "a" if append else "w", encoding="utf-8") as f:
                    f.write(cell)
            return None
        return None

    def magic(self, arg_s: str):
        """The old spelling: ``get_ipython().magic("time x = 1")``."""
        name, _, rest = str(arg_s).lstrip().lstrip("%").partition(" ")
        return self.run_line_magic(name, rest)

    def find_magic(self, name: str, magic_kind: str = "line"):
        return None

    def register_magic_function(self, func, magic_kind: str = "line", magic_name: str | None = None) -> None:
        return None

    # --- shell
    def system(self, cmd: str) -> None:
        """``!cmd``: not run (no shell in the sandbox)."""
        return None

    system_piped = system_raw = system

    def getoutput(self, cmd: str, split: bool = True, depth: int = 0):
        """``x = !cmd``: not run; an empty list of lines."""
        return SList() if split else ""

    # --- front end
    def enable_gui(self, gui=None) -> None:
        return None

    def enable_matplotlib(self, gui=None):
        return None, None

    def set_next_input(self, *args, **kwargs) -> None:
        return None

    def run_cell(self, raw_cell: str, *args, **kwargs):
        return _Stub()

    def showtraceback(self, *args, **kwargs) -> None:
        return None

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _Stub()

    def __repr__(self) -> str:
        return "<IPython shell stand-in (grade)>"


def _interactive_shell_class(shell_ref: dict) -> type:
    """The stand-in ``InteractiveShell`` class, made once per process and kept in ``shell_ref``.

    Made at run time, not defined in this module: notebooks set its class attributes
    (``InteractiveShell.ast_node_interactivity = "all"``), and the grader's own classes must not change.
    """
    cls = shell_ref.get("InteractiveShell")
    if cls is None:
        def instance(klass, *args, **kwargs):
            return shell_ref.get("shell")

        def initialized(klass) -> bool:
            return shell_ref.get("shell") is not None

        cls = type("InteractiveShell", (), {"__module__": "IPython.core.interactiveshell",
                                            "__doc__": "Stand-in for IPython's InteractiveShell (grade).",
                                            "ast_node_interactivity": "last_expr",
                                            "instance": classmethod(instance),
                                            "initialized": classmethod(initialized)})
        shell_ref["InteractiveShell"] = cls
    return cls


# --------------------------------------------------------------------------- stand-in modules

_DISPLAY_CLASSES = ("HTML", "Markdown", "Latex", "Math", "Image", "SVG", "JSON", "Javascript", "IFrame", "Audio",
                    "Video", "FileLink", "FileLinks", "YouTubeVideo", "Pretty", "Code", "ProgressBar", "GeoJSON",
                    "TextDisplayObject", "DisplayObject", "VimeoVideo", "ScribdDocument")
_DISPLAY_FUNCTIONS = ("clear_output", "update_display", "publish_display_data", "display_html", "display_markdown",
                      "display_png", "display_jpeg", "display_svg", "display_latex", "display_json",
                      "display_javascript", "display_pretty", "display_pdf", "set_matplotlib_formats",
                      "set_matplotlib_close")


def _fill(module, shell_ref: dict) -> None:
    """Put the stand-ins a module of that name is known for into ``module``."""
    name = module.__name__

    def get_ipython():
        """The notebook's shell stand-in."""
        return shell_ref.get("shell")

    if name in ("IPython", "IPython.display", "IPython.core.display", "IPython.core.display_functions",
                "IPython.lib.display"):
        module.display = display
        module.DisplayHandle = DisplayHandle
        for cls_name in _DISPLAY_CLASSES:
            setattr(module, cls_name, type(cls_name, (_DisplayObject,), {"__module__": "IPython.display"}))
        for fn in _DISPLAY_FUNCTIONS:
            setattr(module, fn, _nothing)
    if name in ("IPython", "IPython.core.getipython"):
        module.get_ipython = get_ipython
    if name == "IPython":
        module.version_info = VERSION_INFO
        module.__version__ = ".".join(map(str, VERSION_INFO[:3]))
        module.embed = _nothing
        module.start_ipython = _nothing
        module.start_kernel = _nothing
        module.InteractiveShell = _interactive_shell_class(shell_ref)
    if name == "IPython.core.interactiveshell":
        module.InteractiveShell = _interactive_shell_class(shell_ref)
    if name == "IPython.core.debugger":
        module.set_trace = _nothing
        module.Pdb = _Stub
        module.Tracer = _Stub
    if name == "IPython.core.magic":
        for fn in ("register_line_magic", "register_cell_magic", "register_line_cell_magic", "line_magic",
                   "cell_magic", "line_cell_magic", "magics_class", "needs_local_scope", "no_var_expand"):
            setattr(module, fn, lambda *a, **k: (a[0] if len(a) == 1 and callable(a[0]) and not k else (lambda f: f)))
        module.Magics = type("Magics", (), {"__init__": lambda self, *a, **k: None,
                                            "__module__": "IPython.core.magic"})

    def __getattr__(attr: str):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return _Stub()

    module.__getattr__ = __getattr__


class _Finder:
    """Serves the stand-in ``IPython`` package and every ``IPython.*`` module (a meta path finder)."""

    def __init__(self, shell_ref: dict) -> None:
        self.shell_ref = shell_ref

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname != "IPython" and not fullname.startswith("IPython."):
            return None
        from importlib.machinery import ModuleSpec

        return ModuleSpec(fullname, self, origin="grade IPython stand-in", is_package=True)

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        module.__file__ = None
        _fill(module, self.shell_ref)

    def invalidate_caches(self) -> None:
        return None


_SHELL_REF: dict = {}


def install(namespace: dict) -> None:
    """Make ``namespace`` (a notebook's module ``__dict__``) run as under Jupyter, harmlessly.

    Binds ``get_ipython`` (returning a :class:`Shell` on ``namespace``) and
    ``display`` in ``namespace``, and makes ``import IPython`` and every
    ``IPython.*`` import give stand-ins, ahead of an installed IPython (any
    already imported ``IPython`` modules are replaced).  Call it once per
    notebook, before its first cell; calling it again rebinds to the new
    namespace.
    """
    shell = Shell(namespace)
    _SHELL_REF["shell"] = shell

    def get_ipython():
        """The notebook's shell (a stand-in: see grader.sandbox.inside.ipython)."""
        return shell

    namespace["get_ipython"] = get_ipython
    namespace["display"] = display
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder(_SHELL_REF))
    for mod in [m for m in sys.modules if m == "IPython" or m.startswith("IPython.")]:
        if not getattr(sys.modules[mod], "__file__", "x") is None:
            del sys.modules[mod]
