"""Run-time detection of banned calls while the student's function runs.

Three layers, all active only around the call of the student's function:

* a Python profiler (:func:`sys.setprofile`) that sees every Python and C
  function call made from the student's frames: a call counts when it
  resolves to a banned entry point (by object identity, by the *location*
  of its code: file and first line, so a copy of a library function is
  still that function; by ``Tensor.<method>`` name; or by module prefix);
* a :class:`~torch.overrides.TorchFunctionMode` that sees every call into
  torch's API however it was made, also from C (``map(torch.lstm_cell, ...)``,
  ``functools.partial``), and so catches composite routines
  (``aten::lstm_cell``, ``aten::lstm``) that decompose before they reach the
  dispatcher;
* a :class:`~torch.utils._python_dispatch.TorchDispatchMode` that records
  banned ATen operators however they were reached (``torch._C._nn``,
  ``torch.ops.aten``, a Tensor method, library code), and any operator run
  by the autograd engine (``.backward``, ``torch.autograd.grad``,
  ``torch._C._ImperativeEngine().run_backward``, ``torch.func``) when
  autograd is banned.

Calls made *by library code* (installed packages, decided by the file the
code was loaded from; the sandbox's ledger refuses to compile, build or
unmarshal code under an installed package's file name) do not count for
names: an allowed library routine may use banned ones internally.  Banned
operators count whoever runs them.  Other libraries' routines that are not
Python functions (numpy ufuncs such as ``scipy.special.expit``) are wrapped
where the guard finds them (their modules and the student's modules) so a
call, even through ``map``, is seen.

The guard lives in the student's process and so can be attacked.  After
:func:`grader.sandbox.inside.confine.seal`, the sandbox's *ledger* (an audit
hook no Python code can reach) refuses to let the student's code switch the
profiler off or the guard off and on, keeps a copy of every hit, and checks
the grader's code for modifications.  At every call from the student's
frames the guard also checks that its two torch modes are still on their
stacks and that dispatch to them is not disabled.  Whatever it finds becomes
a ``tamper`` hit ("the grader's guard was modified"), which the grader
reports as ``banned`` for instructor review.  The static scan
(:mod:`grader.judge.scan`) is the second line.
"""

from __future__ import annotations

import os
import sys
import types
from dataclasses import dataclass, field

__all__ = ["Guard", "Hit", "NO_GRADIENT", "TAMPER"]

# Real hooks, taken before the sandbox hides them from the student's code.
_getprofile = sys.getprofile
_setprofile = sys.setprofile
_audit = sys.audit
_getframe = sys._getframe
_OWN_FILE = __file__
# The standard library's Python code (torch runs its mode handlers through contextlib): not checked
# for the modes (the sandbox's ledger refuses code compiled under these file names too).
_STDLIB = tuple(os.path.join(p, "") for p in dict.fromkeys(
    (os.path.dirname(os.__file__), os.path.realpath(os.path.dirname(os.__file__))))) + ("<frozen ",)
_GRADER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))), "")

#: The name of every tamper hit.
TAMPER = "<the grader's guard was modified>"

#: Names under banned prefixes that compute no gradient (kept equal to grader.judge.scan.NO_GRADIENT).
NO_GRADIENT = (
    "torch.autograd.grad_mode",
    "torch.autograd.no_grad",
    "torch.autograd.enable_grad",
    "torch.autograd.set_grad_enabled",
    "torch.autograd.inference_mode",
    "torch.autograd.set_multithreading_enabled",
    "torch.autograd.Variable",
    "torch.autograd.variable",
    "torch.no_grad",
    "torch.enable_grad",
    "torch.set_grad_enabled",
    "torch.inference_mode",
    "torch.is_grad_enabled",
    "torch.is_inference_mode_enabled",
)

# Entry points that switch the torch modes off or manipulate their stacks.
_TAMPER_NAMES = (
    "torch._C._pop_torch_dispatch_stack", "torch._C._push_on_torch_dispatch_stack", "torch._C._set_dispatch_mode",
    "torch._C._unset_dispatch_mode", "torch._C._pop_torch_function_stack", "torch._C._push_on_torch_function_stack",
    "torch._C._dispatch_tls_set_dispatch_key_excluded", "torch._C._dispatch_tls_set_dispatch_key_included",
    "torch.utils._python_dispatch._pop_mode", "torch.utils._python_dispatch._push_mode",
    "torch.utils._python_dispatch._pop_mode_temporarily", "torch.utils._python_dispatch._disable_current_modes",
    "torch.overrides._pop_mode", "torch.overrides._push_mode", "torch.overrides._pop_mode_temporarily",
)


@dataclass
class Hit:
    """One banned call seen at run time.

    Attributes:
        name: the banned routine (``"torch.softmax"``, ``"aten::_softmax"``), or :data:`TAMPER`
            followed by what was found.
        line: the student's line that made the call (None when unknown).
        file: the file of that line.
        how: ``"call"`` (a named routine), ``"op"`` (an ATen operator or the autograd engine),
            ``"tamper"`` (the guard was switched off or modified).
    """

    name: str
    line: int | None = None
    file: str | None = None
    how: str = "call"

    def as_dict(self) -> dict:
        return {"name": self.name, "line": self.line, "file": self.file, "how": self.how}


def _under(dotted: str, prefix: str) -> bool:
    return dotted == prefix or dotted.startswith(prefix + ".")


def _resolve(dotted: str):
    parts = dotted.split(".")
    obj = sys.modules.get(parts[0])
    if obj is None:
        return None
    for i, p in enumerate(parts[1:], 1):
        mod = sys.modules.get(".".join(parts[: i + 1]))
        if mod is not None:
            obj = mod
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
    """A banned routine that is not a Python function (a numpy ufunc...), made visible to the profiler."""

    __slots__ = ("_grade_fn", "_grade_name")

    def __init__(self, fn, name: str) -> None:
        object.__setattr__(self, "_grade_fn", fn)
        object.__setattr__(self, "_grade_name", name)

    def __call__(self, *args, **kwargs):
        return self._grade_fn(*args, **kwargs)

    def __getattr__(self, attr):
        return getattr(self._grade_fn, attr)

    def __repr__(self) -> str:
        return repr(self._grade_fn)


_WATCHED_CODE = _Watched.__call__.__code__


class _Disabler:
    """torch's switch that turns a kind of torch mode off, made visible to the profiler (a call from
    the student's code while the guard runs is tampering)."""

    __slots__ = ("_grade_real", "_grade_name")

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
_TABLES: dict[tuple, "_Tables"] = {}


class _Tables:
    """What the guard looks for, resolved once per banned list (before the sandbox is sealed)."""

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
        self._file_cache: dict[str, object] = {}
        self._mod_cache: dict[str, object] = {}
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

    def resolve_late(self) -> None:
        """Register the banned names whose libraries the student's code has loaded since."""
        for name in list(self.late):
            parent = name.rpartition(".")[0]
            if parent not in sys.modules:
                continue
            self.late.remove(name)
            self._file_cache.clear()
            self._mod_cache.clear()
            obj = _resolve(name)
            if obj is None:
                continue
            if isinstance(obj, types.ModuleType):
                for attr, v in list(vars(obj).items()):
                    mod = getattr(v, "__module__", None) or ""
                    if not attr.startswith("__") and (mod == name or mod.startswith(name + ".")):
                        self._register(f"{name}.{attr}", v)
                continue
            self._register(name, obj)
            if not isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodDescriptorType,
                                    type, types.MethodType)) and callable(obj):
                self.wrap.append(name)

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
        hit = self._file_cache.get(filename, False)
        if hit is False:
            hit = None
            if filename not in self.no_grad_files:
                for path, name in self.prefix_paths:
                    if filename == path:
                        hit = (name, ".")
                        break
                    if path.endswith(os.sep) and filename.startswith(path):
                        hit = (name, ":")
                        break
            self._file_cache[filename] = hit
        return None if hit is None else f"{hit[0]}{hit[1]}{qualname}"

    def match_module(self, modname) -> str | None:
        if not isinstance(modname, str) or not modname:
            return None
        hit = self._mod_cache.get(modname, False)
        if hit is False:
            hit = None
            if not any(_under(modname, s) for s in NO_GRADIENT):
                for p in self.prefixes:
                    if modname == p or modname.startswith(p + "."):
                        hit = p
                        break
            self._mod_cache[modname] = hit
        return hit


@dataclass
class Guard:
    """Records banned calls made (directly or indirectly) by the student's code.

    Args:
        banned: dotted names (``"torch.softmax"``, ``"torch.Tensor.softmax"``,
            prefixes such as ``"torch.nn.functional"`` or ``"sklearn"``).
        banned_ops: ATen operator names (``"aten::_softmax"``).
        library_dirs: directories whose code is "library": calls made from
            there do not count (their own internals).

    Use as ``with guard: student_function(...)``; then :attr:`hits` lists
    what was seen (deduplicated by name, line and kind). Construct one
    before the sandbox is sealed (it resolves the banned names then; later
    instances reuse the tables).
    """

    banned: tuple[str, ...]
    banned_ops: tuple[str, ...] = ()
    library_dirs: tuple[str, ...] = ()
    hits: list[Hit] = field(default_factory=list)

    def __post_init__(self) -> None:
        key = (tuple(self.banned), tuple(self.banned_ops), tuple(self.library_dirs))
        t = _TABLES.get(key)
        if t is None:
            t = _TABLES[key] = _Tables(*key)
        self._t = t
        self._profile = None
        self._modes = ()

    # -- the three layers, as closures (nothing the student's code can reach or rebind) --------------
    def _build(self, entry):
        t = self._t
        hits: list[Hit] = []
        seen: set = set()
        ids, codes, locs, methods, op_ids = t.ids, t.codes, t.locs, t.methods, t.op_ids
        tamper_ids, tamper_codes = t.tamper_ids, t.tamper_codes
        is_lib, match_file, match_module = t.is_library, t.match_file, t.match_module
        ops, autograd = t.ops, t.autograd
        lib_cache: dict[str, bool] = {_OWN_FILE: True}
        own = _OWN_FILE
        audit, getframe = _audit, _getframe
        dget = dict.get
        import torch
        from torch.overrides import TorchFunctionMode
        from torch.utils._python_dispatch import TorchDispatchMode

        len_d, at_d = torch._C._len_torch_dispatch_stack, torch._C._get_dispatch_stack_at
        len_f, at_f = torch._C._len_torch_function_stack, torch._C._get_function_stack_at
        tf_on, excluded = torch._C._is_torch_function_mode_enabled, torch._C._dispatch_tls_is_dispatch_key_excluded
        py_key = torch._C.DispatchKey.Python
        current_node = torch._C._current_autograd_node
        op_calls = frozenset(id(c.__call__.__code__) for c in (torch._ops.OpOverloadPacket, torch._ops.OpOverload))
        state = {"dmode": None, "fmode": None, "returned": False, "in_tf": 0}

        std_cache: dict[str, bool] = {}

        def stdlib(code) -> bool:
            fn = code.co_filename
            r = std_cache.get(fn)
            if r is None:
                r = std_cache[fn] = fn.startswith(_STDLIB) and not is_lib(fn)  # (site-packages lies inside)
            return r

        def library(code) -> bool:
            fn = code.co_filename
            r = lib_cache.get(fn)
            if r is None:
                r = lib_cache[fn] = is_lib(fn)
            return r

        def record(name: str, frame, how: str) -> None:
            line = frame.f_lineno if frame is not None else None
            fname = frame.f_code.co_filename if frame is not None else None
            key = (name, line, how)
            if key in seen:
                return
            seen.add(key)
            hits.append(Hit(name, line, fname, how))
            audit("grade.hit", name, line, fname, how)

        def past_stdlib(f):
            """The first frame from ``f`` up that is not the standard library's."""
            while f is not None and stdlib(f.f_code):
                f = f.f_back
            return f

        def student_frame(f):
            while f is not None and library(f.f_code):
                f = f.f_back
            return f

        def modes_intact(full: bool) -> str | None:
            """Whether the torch modes still see everything. ``full``: also that they are on their
            stacks (torch pops a mode while it runs a handler, and calls Python helpers meanwhile:
            only a call made directly by the student's frame is checked for that)."""
            dm, fm = state["dmode"], state["fmode"]
            if dm is not None:
                if excluded(py_key):
                    return "dispatch to the guard's operator mode was disabled"
                if full and not any(at_d(i) is dm for i in range(len_d())):
                    return "the guard's operator mode was removed"
            if fm is not None and not state["in_tf"]:  # (inside its own handler torch pops it)
                if not tf_on() and len_f():
                    return "the guard's function mode was disabled"
                if full and not any(at_f(i) is fm for i in range(len_f())):
                    return "the guard's function mode was removed"
            return None

        def profile(frame, event, arg):
            try:
                if event == "call":
                    caller = frame.f_back
                    code = frame.f_code
                    if caller is None or library(caller.f_code):
                        return
                    if code.co_filename == own:
                        if code is _WATCHED_CODE:  # a wrapped routine of another library
                            w = frame.f_locals.get("self")
                            record(getattr(w, "_grade_name", "?"), caller, "call")
                        elif code is _DISABLER_CODE:
                            f = past_stdlib(caller)
                            if f is not None and not library(f.f_code):
                                w = frame.f_locals.get("self")
                                record(f"{TAMPER}: your code called {getattr(w, '_grade_name', '?')}", f, "tamper")
                        return  # (the guard's own handlers run with torch's modes popped)
                    cid = id(code)
                    name = codes.get(cid) or locs.get((code.co_filename, code.co_firstlineno))
                    if name is None:
                        if cid in tamper_codes:
                            f = past_stdlib(caller)  # (contextlib runs torch's own mode helpers)
                            if f is not None and not library(f.f_code):
                                record(f"{TAMPER}: your code called {tamper_codes[cid]}", f, "tamper")
                            return
                        else:
                            name = match_file(code.co_filename, code.co_qualname)
                            if name is None:
                                mod = match_module(dget(frame.f_globals, "__name__"))
                                if mod is not None:
                                    name = f"{dget(frame.f_globals, '__name__')}.{code.co_qualname}"
                    if name is not None:
                        record(name, caller, "call")
                    bad = None if stdlib(caller.f_code) else modes_intact(cid in op_calls)
                    if bad:
                        record(f"{TAMPER}: {bad}", caller, "tamper")
                elif event == "c_call":
                    if library(frame.f_code) or frame.f_code.co_filename == own:
                        return
                    aid = id(arg)
                    name = ids.get(aid) or op_ids.get(aid)
                    torchy = name is not None
                    if name is None:
                        if aid in tamper_ids:
                            if not stdlib(frame.f_code):
                                record(f"{TAMPER}: your code called {tamper_ids[aid]}", frame, "tamper")
                            return
                        q = getattr(arg, "__qualname__", None)
                        if q in methods:
                            name = methods[q]
                        else:
                            mod = getattr(arg, "__module__", None)
                            if match_module(mod) is not None:
                                name = f"{mod}.{getattr(arg, '__name__', '?')}"
                            torchy = (isinstance(mod, str) and mod.startswith("torch")) or (
                                isinstance(q, str) and q.startswith("TensorBase."))
                        torchy = torchy or name is not None
                    if name is not None:
                        record(name, frame, "call")
                    # A call into torch while a mode is off would run unseen: check them (other builtins
                    # cannot reach an operator the function mode would not see first).
                    bad = modes_intact(True) if torchy and not stdlib(frame.f_code) else None
                    if bad:
                        record(f"{TAMPER}: {bad}", frame, "tamper")
                elif (event == "return" and frame.f_back is entry and not state["returned"]
                      and frame.f_code is not _ENTER_CODE):
                    state["returned"] = True
                    audit("grade.guard", "check")  # the sandbox's ledger checks the grader's code
            except Exception:  # never let the guard break the student's run
                pass

        class _GuardFunctions(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                fid = id(func)
                name = ids.get(fid)
                how = "call"
                if name is None:
                    name = op_ids.get(fid)
                    if name is not None:
                        how = "op"
                    else:
                        q = getattr(func, "__qualname__", None)
                        name = methods.get(q) if isinstance(q, str) else None
                        if name is None:
                            mod = getattr(func, "__module__", None)
                            if isinstance(mod, str) and mod.startswith("torch._ops."):
                                op = f"{mod.rsplit('.', 1)[-1]}::{getattr(func, '__name__', '')}".split(".")[0]
                                if op in ops:
                                    name, how = op, "op"
                if name is not None:
                    f = getframe(1)
                    if how == "op":
                        record(name, student_frame(f), "op")
                    elif f is not None and not library(f.f_code):
                        record(name, f, "call")
                state["in_tf"] += 1
                try:
                    return func(*args, **(kwargs or {}))
                finally:
                    state["in_tf"] -= 1

        class _GuardOps(TorchDispatchMode):
            @classmethod
            def _should_skip_dynamo(cls) -> bool:  # no lazy `import torch._dynamo` (~1 s)
                return False

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                name = getattr(getattr(func, "_schema", None), "name", "")
                if name in ops:
                    record(name, student_frame(getframe(1)), "op")
                elif autograd and current_node() is not None:
                    record("torch.autograd (a backward pass ran)", student_frame(getframe(1)), "op")
                return func(*args, **(kwargs or {}))

        def make_modes():
            dm = _GuardOps() if (ops or autograd) else None
            fm = _GuardFunctions() if (ids or op_ids or methods or t.prefixes) else None
            return dm, fm

        return profile, make_modes, state, hits

    def _wrap_loaded(self) -> None:
        """Wrap banned non-Python routines of modules loaded by now (and the student's references to them)."""
        n_modules = len(sys.modules)
        for name in self._t.wrap:
            if _WRAP_DONE.get(name) == n_modules:
                continue
            _WRAP_DONE[name] = n_modules
            mod_name, _, attr = name.rpartition(".")
            mod = sys.modules.get(mod_name)
            if mod is None:
                continue
            obj = getattr(mod, attr, None)
            if isinstance(obj, _Watched):
                obj = obj._grade_fn
            if obj is None or isinstance(obj, (types.FunctionType, type)):
                continue
            w = _WATCHED.get(id(obj))
            if w is None:
                w = _WATCHED[id(obj)] = _Watched(obj, name)
            top = name.split(".")[0]
            for mname, m in list(sys.modules.items()):
                if m is None or not (mname == top or mname.startswith(top + ".")
                                     or not self._t.is_library(getattr(m, "__file__", None) or "")):
                    continue
                d = getattr(m, "__dict__", None)
                if not isinstance(d, dict):
                    continue
                for k, v in list(d.items()):
                    if v is obj:
                        try:
                            d[k] = w
                        except Exception:
                            pass

    def __enter__(self) -> "Guard":
        from grader.sandbox.inside import confine

        if getattr(confine, "_installed", False) and not confine._sealed:
            confine.seal(library_dirs=self.library_dirs)  # the child did not seal: do it before the first case
        if not _WATCHING[0]:
            _watch_disablers()
            _WATCHING[0] = True
        if self._t.late:
            self._t.resolve_late()
        if self._t.wrap:
            self._wrap_loaded()
        entry = _getframe(1)
        _audit("grade.guard", "enter")
        profile, make_modes, state, hits = self._build(entry)
        dm, fm = make_modes()
        state["dmode"], state["fmode"] = dm, fm
        self._profile, self._state, self._hits = profile, state, hits
        self._modes = tuple(m for m in (dm, fm) if m is not None)
        for m in self._modes:
            m.__enter__()
        _setprofile(profile)
        _audit("grade.guard", "entered")
        return self

    def __exit__(self, *exc) -> None:
        box: list = []
        _audit("grade.guard", "exit", box)
        tampered = []
        if _getprofile() is not self._profile:
            tampered.append("the profiler was removed or replaced")
        _setprofile(None)
        _audit("grade.guard", "exited")
        for m in reversed(self._modes):
            try:
                bad = None
                if isinstance(m, _dispatch_mode_type()):
                    from torch.utils._python_dispatch import _get_current_dispatch_mode

                    if _get_current_dispatch_mode() is not m:
                        bad = "the guard's operator mode was removed"
                else:
                    import torch

                    n = torch._C._len_torch_function_stack()
                    if not n or torch._C._get_function_stack_at(n - 1) is not m:
                        bad = "the guard's function mode was removed"
                m.__exit__(None, None, None)
                if bad:
                    tampered.append(bad)
            except Exception:
                tampered.append("the guard's torch modes were modified")
        self.hits = list(self._hits)
        seen = {(h.name, h.line, h.how) for h in self.hits}
        for entry in box:  # the ledger's copy: what the student's code cannot erase
            if entry[0] == "hit":
                h = Hit(entry[1], entry[2], entry[3], entry[4])
                if (h.name, h.line, h.how) not in seen:
                    seen.add((h.name, h.line, h.how))
                    self.hits.append(h)
            elif entry[0] == "tamper":
                tampered.append(entry[1])
        for what in dict.fromkeys(tampered):
            self.hits.append(Hit(f"{TAMPER}: {what}", None, None, "tamper"))


_ENTER_CODE = Guard.__enter__.__code__


def _dispatch_mode_type():
    from torch.utils._python_dispatch import TorchDispatchMode

    return TorchDispatchMode
