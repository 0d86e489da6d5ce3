"""What the run-time guard looks for: banned names resolved to objects, code locations, module
files and ATen entry points (:class:`Tables`), and the wrappers that make routines the profiler
cannot see visible to it (other libraries' C routines, torch's mode switches).

Split from :mod:`grader.sandbox.inside.guard` (which uses it); runs in the student's process.
"""

from __future__ import annotations

from builtins import (  # noqa: A004, UP029 - bound here before the student's code runs: patching
    # the builtins module cannot change what this module's code calls (the ledger checks these globals)
    AttributeError, Exception, RuntimeError, any, bool, callable, dict, enumerate, frozenset, getattr, id,
    int, isinstance, len, list, object, range, repr, setattr, str, tuple, type, vars,
)

import functools
import os
import sys
import types

_OWN_FILE = __file__
# The standard library's Python code (torch runs its mode handlers through contextlib): not checked
# for the modes (the sandbox's ledger refuses code compiled under these file names too).
_STDLIB = tuple(os.path.join(p, "") for p in dict.fromkeys(
    (os.path.dirname(os.__file__), os.path.realpath(os.path.dirname(os.__file__))))) + ("<frozen ",)
_GRADER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))), "")

#: Libraries whose banned routines are C objects (numpy ufuncs: ``scipy.special.expit``) that no
#: profiler event shows: imported and wrapped before the student's code runs, where installed.
PRELOAD = ("scipy.special",)

#: The name of every tamper hit.
TAMPER = "<the grader's guard was modified>"

#: Names under banned prefixes that compute no gradient: one list, shared with the static scan.
from grader.judge.scan_scopes import NO_GRADIENT  # noqa: E402

# Entry points that switch the torch modes off or manipulate their stacks.
_TAMPER_NAMES = (
    "torch._C._pop_torch_dispatch_stack", "torch._C._push_on_torch_dispatch_stack", "torch._C._set_dispatch_mode",
    "torch._C._unset_dispatch_mode", "torch._C._pop_torch_function_stack", "torch._C._push_on_torch_function_stack",
    "torch._C._dispatch_tls_set_dispatch_key_excluded", "torch._C._dispatch_tls_set_dispatch_key_included",
    "torch.utils._python_dispatch._pop_mode", "torch.utils._python_dispatch._push_mode",
    "torch.utils._python_dispatch._pop_mode_temporarily", "torch.utils._python_dispatch._disable_current_modes",
    "torch.overrides._pop_mode", "torch.overrides._push_mode", "torch.overrides._pop_mode_temporarily",
)



def _under(dotted: str, prefix: str) -> bool:
    return dotted == prefix or dotted.startswith(prefix + ".")


def _resolve(dotted: str):
    """The object named ``dotted`` as loaded now, or None.

    Never imports outside torch: a submodule that is not loaded yet resolves to None (the name
    waits in ``_Tables.late``) instead of being pulled in through its package's lazy
    ``__getattr__`` (``getattr(scipy, "signal")`` imports ~470 modules, in every child).
    """
    parts = dotted.split(".")
    obj = sys.modules.get(parts[0])
    if obj is None:
        return None
    lazy_ok = parts[0] == "torch"  # (torch's own lazy submodules: as before, resolved by getattr)
    for i, p in enumerate(parts[1:], 1):
        mod = sys.modules.get(".".join(parts[: i + 1]))
        if mod is not None:
            obj = mod
            continue
        if isinstance(obj, types.ModuleType) and not lazy_ok:
            obj = vars(obj).get(p)
            if obj is None:
                return None
            continue
        try:
            obj = getattr(obj, p)
        except Exception:
            return None
    return obj


def _module_path(dotted: str) -> str | None:
    """Where module ``dotted`` lives (a ``.py`` file, or a package folder ending in ``/``), without importing it."""
    import importlib.machinery

    parts = dotted.split(".")
    m = sys.modules.get(parts[0])
    if m is not None and getattr(m, "__file__", None):
        base = os.path.dirname(os.path.realpath(m.__file__))
    else:
        try:
            spec = importlib.machinery.PathFinder.find_spec(parts[0])
        except Exception:
            spec = None
        if spec is None or not spec.submodule_search_locations:
            return None
        base = os.path.realpath(list(spec.submodule_search_locations)[0])
    path = os.path.join(base, *parts[1:])
    if os.path.isdir(path):
        return os.path.join(path, "")
    if os.path.isfile(path + ".py"):
        return path + ".py"
    return None


def _own_code(obj):
    """The code object of the function ``obj`` really is: under its decorators (``functools.wraps``,
    ``contextlib.contextmanager``), never a standard-library wrapper's code that many functions share."""
    for _ in range(8):
        inner = getattr(obj, "__wrapped__", None)
        if inner is None:
            break
        obj = inner
    code = getattr(obj, "__code__", None)
    if code is None or code.co_filename.startswith(_STDLIB) and "site-packages" not in code.co_filename:
        return None
    return code


class _Watched:
    """A banned routine that is not a Python function (a numpy ufunc...), made visible to the profiler.

    In a sealed process the original routine is out of the student's reach: the sandbox's ledger
    keeps it (``grade.watch``) and hands it only to this class's own methods (``grade.watched``);
    the wrapper's ``_grade_fn`` is then None. Bound methods of the original (``ufunc.at``) come
    back wrapped as well.
    """

    __slots__ = ("_grade_fn", "_grade_name", "_grade_repr")

    def __init__(self, fn, name: str) -> None:
        object.__setattr__(self, "_grade_fn", fn)
        object.__setattr__(self, "_grade_name", name)
        object.__setattr__(self, "_grade_repr", repr(fn))
        box: list = []
        _audit("grade.watch", self, fn, box)
        if box:  # the ledger keeps it
            object.__setattr__(self, "_grade_fn", None)

    def __call__(self, *args, **kwargs):
        fn = self._grade_fn
        if fn is None:
            box: list = []
            _audit("grade.watched", self, box)
            fn = box[0] if box else _gone
        return fn(*args, **kwargs)

    def __getattr__(self, attr):
        if attr.startswith("_grade_"):
            raise AttributeError(attr)
        fn = self._grade_fn
        if fn is None:
            box: list = []
            _audit("grade.watched", self, box)
            fn = box[0] if box else _gone
        v = getattr(fn, attr)
        if callable(v) and getattr(v, "__self__", None) is fn:
            return _Watched(v, f"{self._grade_name}.{attr}")
        return v

    def __repr__(self) -> str:
        return self._grade_repr


def _gone(*args, **kwargs):
    raise RuntimeError("grade: this wrapped library routine is no longer available")


_audit = sys.audit
_WATCHED_CODE = _Watched.__call__.__code__


class _Disabler:
    """torch's switch that turns a kind of torch mode off, made visible to the profiler (a call from
    the student's code while the guard runs is tampering)."""

    __slots__ = ("_grade_name", "_grade_real")

    def __init__(self, real, name: str) -> None:
        object.__setattr__(self, "_grade_real", real)
        object.__setattr__(self, "_grade_name", name)

    def __call__(self, *args, **kwargs):
        return self._grade_real(*args, **kwargs)

    def __getattr__(self, attr):
        return getattr(self._grade_real, attr)


_DISABLER_CODE = _Disabler.__call__.__code__
_DISABLERS = ("DisableTorchFunction", "_DisableTorchDispatch")


def _watch_disablers() -> None:
    """Replace ``torch._C.DisableTorchFunction`` and ``torch._C._DisableTorchDispatch`` (C types whose
    construction makes no profiler event) with visible wrappers; torch reads them at each use."""
    import torch

    for name in _DISABLERS:
        real = getattr(torch._C, name, None)
        if real is not None and not isinstance(real, _Disabler):
            setattr(torch._C, name, _Disabler(real, f"torch._C.{name}"))
_WATCHED: dict[int, object] = {}  # id(original) -> wrapper
_WRAP_DONE: dict[str, int] = {}
_WATCHING = [False]  # banned name -> len(sys.modules) when last wrapped
_TABLES: dict[tuple, _Tables] = {}


class _Tables:
    """What the guard looks for, resolved once per banned list (before the sandbox is sealed).

    The student's code can reach these objects, so what decides a hit is immutable: membership
    is tested on frozensets (``id_set``, ``code_set``, ...: a dict's entries only give the name),
    the lists are tuples, and the caches are :func:`functools.lru_cache` functions (nothing can be
    put into them from outside). Rebinding an attribute is what remains; the sandbox's ledger
    checks every attribute's identity before each graded call (see :meth:`freeze`).
    """

    def __init__(self, banned: tuple[str, ...], banned_ops: tuple[str, ...], library_dirs: tuple[str, ...]) -> None:
        self.ids: dict[int, str] = {}
        self.codes: dict[int, str] = {}
        self.locs: dict[tuple[str, int], str] = {}
        self.methods: dict[str, str] = {}
        self.prefixes: list[str] = []
        self.prefix_paths: list[tuple[str, str]] = []
        self.op_ids: dict[int, str] = {}
        self.tamper_ids: dict[int, str] = {}
        self.tamper_codes: dict[int, str] = {}
        self.wrap: list[str] = []
        self.late: list[str] = []
        self._file_hit = functools.lru_cache(maxsize=None)(self._file_hit_uncached)
        self._mod_hit = functools.lru_cache(maxsize=None)(self._mod_hit_uncached)
        own = frozenset((__file__, os.path.join(os.path.dirname(__file__), "guard.py")))
        is_lib = self.is_library
        #: Whether code from this file is library code (the guard's own files count as library).
        self.library_file = functools.lru_cache(maxsize=None)(lambda fn: fn in own or is_lib(fn))
        #: Whether code from this file is the standard library's (site-packages may lie inside it).
        self.stdlib_file = functools.lru_cache(maxsize=None)(lambda fn: fn.startswith(_STDLIB) and not is_lib(fn))
        self.keep: list = []  # objects whose ids are keys above
        self.ops = frozenset(banned_ops)
        self.no_grad_files = frozenset(p for p in (_module_path(n) for n in ("torch.autograd.grad_mode",
                                                                           "torch.autograd.variable"))
                                       if p and not p.endswith(os.sep))
        self.autograd = any(_under(b, "torch.autograd") or b in ("torch.Tensor.backward", "torch.func")
                            or _under(b, "torch.func") for b in banned)
        lib = [os.path.join(os.path.realpath(d), "") for d in library_dirs if d]
        self.lib = tuple(lib)
        for name in banned:
            if any(_under(name, s) for s in NO_GRADIENT):
                continue
            if name.startswith("torch.Tensor."):
                attr = name.split(".", 2)[2]
                self.methods[f"Tensor.{attr}"] = name
                self.methods[f"TensorBase.{attr}"] = name
                self._register(name, _resolve(name))
                continue
            obj = _resolve(name)
            if obj is None and not name.startswith("torch"):
                self.late.append(name)  # its library is not loaded yet: resolved when it is
            if obj is None or isinstance(obj, types.ModuleType):
                self.prefixes.append(name)
                path = _module_path(name)
                if path:
                    self.prefix_paths.append((path, name))
                if isinstance(obj, types.ModuleType):
                    for attr, v in list(vars(obj).items()):
                        if attr.startswith("__"):
                            continue
                        # Only what the module itself defines (or torch's C builtins it
                        # re-exports): not typing.overload, math.sqrt, ... it imported.
                        mod = getattr(v, "__module__", None) or ""
                        if mod == name or mod.startswith(name + ".") or mod.startswith("torch._C"):
                            full = f"{name}.{attr}"
                            if not any(_under(full, s) for s in NO_GRADIENT):
                                self._register(full, v)
                elif not name.startswith("torch"):
                    self.wrap.append(name)  # not loaded yet: wrapped when it is, if it is no Python function
                continue
            self._register(name, obj)
            if not isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodDescriptorType,
                                    type, types.MethodType)) and callable(obj):
                self.wrap.append(name)
        # Composite ATen routines: their Python entry points count as the operator (map(torch.lstm_cell, ...)).
        import torch

        for op in self.ops:
            if not op.startswith("aten::"):
                continue
            base = op[len("aten::"):]
            for owner in (torch._C._VariableFunctions, torch._C._nn, torch._C._linalg, torch._C._special,
                          torch._C._fft, torch._C.TensorBase):
                f = getattr(owner, base, None)
                if f is not None and callable(f):
                    self.op_ids[id(f)] = op
                    self.keep.append(f)
        for name in _TAMPER_NAMES:
            obj = _resolve(name)
            code = _own_code(obj)
            if code is not None:
                self.tamper_codes[id(code)] = name
                self.keep.append(code)
            elif obj is not None:
                self.tamper_ids[id(obj)] = name
                self.keep.append(obj)
        self.freeze()

    def freeze(self) -> None:
        """Make what decides a hit immutable (after resolving, and again after :meth:`resolve_late`)."""
        self.id_set, self.code_set, self.loc_set = frozenset(self.ids), frozenset(self.codes), frozenset(self.locs)
        self.method_set, self.op_id_set = frozenset(self.methods), frozenset(self.op_ids)
        self.tamper_id_set, self.tamper_code_set = frozenset(self.tamper_ids), frozenset(self.tamper_codes)
        # The same objects as ``id_set`` and ``op_id_set``, for a membership test without calling id():
        # a hashable object absent from ``obj_set`` is in neither (when ``all_hashable``).
        by_id = {id(o): o for o in self.keep}
        objs = [by_id[i] for i in (*self.ids, *self.op_ids) if i in by_id]
        try:
            self.obj_set, hashable = frozenset(objs), True
        except TypeError:  # an unhashable one: the guard always takes the full path
            self.obj_set, hashable = frozenset(), False
        self.all_hashable = hashable and len(objs) == len(self.ids) + len(self.op_ids)
        self.prefixes, self.prefix_paths = tuple(self.prefixes), tuple(self.prefix_paths)
        self.wrap, self.late = tuple(self.wrap), tuple(self.late)

    def resolve_late(self) -> bool:
        """Register the banned names whose libraries the student's code has loaded since.

        Returns:
            True when the tables changed.
        """
        ready = [(name, obj) for name, obj in ((n, _resolve(n)) for n in self.late) if obj is not None]
        if not ready:
            return False
        late, wrap, prefixes = list(self.late), list(self.wrap), list(self.prefixes)
        self._file_hit.cache_clear()
        self._mod_hit.cache_clear()
        for name, obj in ready:
            late.remove(name)
            if isinstance(obj, types.ModuleType):
                for attr, v in list(vars(obj).items()):
                    mod = getattr(v, "__module__", None) or ""
                    if not attr.startswith("__") and (mod == name or mod.startswith(name + ".")):
                        self._register(f"{name}.{attr}", v)
                continue
            self._register(name, obj)
            if not isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodDescriptorType,
                                    type, types.MethodType)) and callable(obj):
                wrap.append(name)
        self.late, self.prefixes = late, prefixes
        self.freeze()
        return True

    def _register(self, name: str, obj) -> None:
        if obj is None:
            return
        if isinstance(obj, type):
            for meth in ("__init__", "__new__", "__call__", "forward", "__enter__"):
                f = obj.__dict__.get(meth)
                code = _own_code(f)
                if code is not None:
                    self._code(f"{name}.{meth}" if meth != "__init__" else name, code)
            return
        code = _own_code(obj)
        if code is not None:
            self._code(name, code)
        elif callable(obj) and getattr(obj, "__code__", None) is None:
            self.ids.setdefault(id(obj), name)
            self.keep.append(obj)

    def _code(self, name: str, code) -> None:
        self.codes.setdefault(id(code), name)
        self.locs.setdefault((code.co_filename, code.co_firstlineno), name)
        self.keep.append(code)

    def is_library(self, filename: str) -> bool:
        return bool(self.lib) and filename.startswith(self.lib) and not filename.startswith(_GRADER_DIR)

    def match_file(self, filename: str, qualname: str) -> str | None:
        """The banned name of code defined in ``filename`` (a banned module's file or package folder)."""
        hit = self._file_hit(filename)
        return None if hit is None else f"{hit[0]}{hit[1]}{qualname}"

    def _file_hit_uncached(self, filename: str):
        if filename in self.no_grad_files:
            return None
        for path, name in self.prefix_paths:
            if filename == path:
                return (name, ".")
            if path.endswith(os.sep) and filename.startswith(path):
                return (name, ":")
        return None

    def match_module(self, modname) -> str | None:
        """The banned prefix ``modname`` falls under, if any."""
        if not isinstance(modname, str) or not modname:
            return None
        return self._mod_hit(modname)

    def _mod_hit_uncached(self, modname: str):
        if any(_under(modname, s) for s in NO_GRADIENT):
            return None
        for p in self.prefixes:
            if modname == p or modname.startswith(p + "."):
                return p
        return None
