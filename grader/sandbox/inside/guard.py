"""Run-time detection of banned calls while the student's function runs.

Two layers, both active only around the call of the student's function:

* a Python profiler (:func:`sys.setprofile`) that sees every Python and C
  function call; a call counts when it resolves to a banned entry point
  (by object identity, code object, ``Tensor.<method>`` name, or module
  prefix) and the *caller* is not library code (so allowed library routines
  that use banned ones internally do not count);
* a :class:`~torch.utils._python_dispatch.TorchDispatchMode` that records
  banned ATen operators, however they were reached (``torch._C._nn``,
  ``torch.ops.aten``, a Tensor method, ...).

The guard lives in the student's process and so can be attacked; it checks
after the call that its hooks are still installed and reports tampering as a
banned call.  The static scan (:mod:`grader.judge.scan`) is the second line.
"""

from __future__ import annotations

import os
import sys
import types
from dataclasses import dataclass, field

__all__ = ["Guard", "Hit"]


@dataclass
class Hit:
    name: str
    line: int | None = None
    file: str | None = None
    how: str = "call"

    def as_dict(self) -> dict:
        return {"name": self.name, "line": self.line, "file": self.file, "how": self.how}


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


_TABLES: dict[tuple, tuple] = {}


@dataclass
class Guard:
    """Records banned calls made (directly or indirectly) by the student's code.

    Args:
        banned: dotted names (``"torch.softmax"``, ``"torch.Tensor.softmax"``,
            prefixes such as ``"torch.nn.functional"`` or ``"sklearn"``).
        banned_ops: ATen operator names (``"aten::_softmax"``).
        library_dirs: directories whose code is "library": calls made from
            there do not count (their own internals).
    """

    banned: tuple[str, ...]
    banned_ops: tuple[str, ...] = ()
    library_dirs: tuple[str, ...] = ()
    hits: list[Hit] = field(default_factory=list)

    def __post_init__(self) -> None:
        key = (self.banned, self.banned_ops, self.library_dirs)
        cached = _TABLES.get(key)
        if cached is None:
            self._build()
            _TABLES[key] = (self._ids, self._codes, self._methods, self._prefixes, self._ops, self._lib)
        else:
            self._ids, self._codes, self._methods, self._prefixes, self._ops, self._lib = cached
        self._seen: set = set()
        self._mode = None

    def _build(self) -> None:
        self._ids: dict[int, str] = {}
        self._codes: dict[int, str] = {}
        self._methods: dict[str, str] = {}
        self._prefixes: list[str] = []
        for name in self.banned:
            if name.startswith("torch.Tensor."):
                attr = name.split(".", 2)[2]
                self._methods[f"Tensor.{attr}"] = name
                self._methods[f"TensorBase.{attr}"] = name
                obj = _resolve(name)
                code = getattr(obj, "__code__", None)
                if code is not None:
                    self._codes[id(code)] = name
                continue
            obj = _resolve(name)
            if obj is None or isinstance(obj, types.ModuleType):
                self._prefixes.append(name)
                if isinstance(obj, types.ModuleType):
                    for attr, v in list(vars(obj).items()):
                        if attr.startswith("__"):
                            continue
                        # Only what the module itself defines (or torch's C builtins it
                        # re-exports): not typing.overload, math.sqrt, ... it imported.
                        mod = getattr(v, "__module__", None) or ""
                        if mod == name or mod.startswith(name + ".") or mod.startswith("torch._C"):
                            self._register(f"{name}.{attr}", v)
                continue
            self._register(name, obj)
        self._ops = frozenset(self.banned_ops)
        self._lib = tuple(os.path.join(os.path.realpath(d), "") for d in self.library_dirs if d)

    def _register(self, name: str, obj) -> None:
        code = getattr(obj, "__code__", None)
        if code is not None:
            self._codes.setdefault(id(code), name)
        elif callable(obj):
            self._ids.setdefault(id(obj), name)

    # -- profiler -------------------------------------------------------
    def _is_library(self, filename: str) -> bool:
        return bool(self._lib) and filename.startswith(self._lib)

    def _record(self, name: str, frame, how: str) -> None:
        line = frame.f_lineno if frame is not None else None
        fname = frame.f_code.co_filename if frame is not None else None
        key = (name, line, how)
        if key in self._seen:
            return
        self._seen.add(key)
        self.hits.append(Hit(name, line, fname, how))

    def _match_module(self, modname: str | None) -> str | None:
        if not modname:
            return None
        for p in self._prefixes:
            if modname == p or modname.startswith(p + "."):
                return p
        return None

    def _profile(self, frame, event, arg):
        try:
            if event == "call":
                caller = frame.f_back
                if caller is None or self._is_library(caller.f_code.co_filename):
                    return
                name = self._codes.get(id(frame.f_code))
                if name is None:
                    mod = self._match_module(frame.f_globals.get("__name__"))
                    if mod is not None:
                        name = f"{frame.f_globals.get('__name__')}.{frame.f_code.co_qualname}"
                if name is not None:
                    self._record(name, caller, "call")
            elif event == "c_call":
                if self._is_library(frame.f_code.co_filename):
                    return
                name = self._ids.get(id(arg))
                if name is None:
                    q = getattr(arg, "__qualname__", None)
                    if q in self._methods:
                        name = self._methods[q]
                    else:
                        mod = getattr(arg, "__module__", None)
                        if self._match_module(mod) is not None:
                            name = f"{mod}.{getattr(arg, '__name__', '?')}"
                if name is not None:
                    self._record(name, frame, "call")
        except Exception:  # never let the guard break the student's run
            pass

    # -- dispatch mode --------------------------------------------------
    def _make_mode(self):
        if not self._ops:
            return None
        from torch.utils._python_dispatch import TorchDispatchMode

        guard = self

        class _BannedOps(TorchDispatchMode):
            @classmethod
            def _should_skip_dynamo(cls) -> bool:  # no lazy `import torch._dynamo` (~1 s)
                return False

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                name = getattr(getattr(func, "_schema", None), "name", "")
                if name in guard._ops:
                    f = sys._getframe(1)
                    while f is not None and guard._is_library(f.f_code.co_filename):
                        f = f.f_back
                    guard._record(name, f, "op")
                return func(*args, **(kwargs or {}))

        return _BannedOps()

    def __enter__(self) -> "Guard":
        self._mode = self._make_mode()
        if self._mode is not None:
            self._mode.__enter__()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc) -> None:
        tampered = sys.getprofile() is not self._profile and sys.getprofile() != self._profile
        sys.setprofile(None)
        if self._mode is not None:
            try:
                from torch.utils._python_dispatch import _get_current_dispatch_mode

                if _get_current_dispatch_mode() is not self._mode:
                    tampered = True
                self._mode.__exit__(None, None, None)
            except Exception:
                tampered = True
        if tampered:
            self.hits.append(Hit("<the grader's banned-call guard was removed>", None, None, "tamper"))
