"""Static detection of banned calls: an AST scan of the student's source.

The scan flags only what it can attribute to a banned routine for sure, and
leaves the rest to the run-time guard (:mod:`grader.sandbox.inside.guard`),
which sees what really ran.  *Sure* means:

* an import of a banned routine or library (``from torch.nn.functional import
  softmax``, ``import sklearn``) inside a function, and any use of a name bound
  by such an import, following aliases (``import torch.nn.functional as F``,
  ``from torch import softmax as sm``, ``f = torch.softmax``);
* a qualified name rooted in an import: ``torch.softmax(x)``,
  ``torch.Tensor.softmax(x)``, ``getattr(torch, "soft" + "max")`` with
  constant-folded strings (``+``, f-strings of constants, ``"".join([...])``,
  ``"xamtfos"[::-1]``, ``.lower()``), ``vars(torch)["softmax"]``,
  ``torch.__dict__[...]``, ``__import__``/``importlib.import_module`` of
  constant names;
* a Tensor method (``.softmax``, ``.sigmoid``, ``.backward``...) called on a
  value that is provably a tensor: the result of a ``torch`` function
  (``torch.exp(x).softmax(-1)``), a parameter annotated ``torch.Tensor``, a
  local bound only to such values, an arithmetic or indexing expression or
  a Tensor-method result on one of those.

Names are resolved with Python's scoping rules: an import or alias inside a
function is visible only there (and in functions nested in it); a local
variable, parameter, loop or ``with ... as`` target shadows a module-level
alias of the same name; a class body's names are not visible in its
methods.  A name bound in one scope both to a banned routine and to
something else is not "sure".

Never flagged (deferred to the run-time guard): a method call on a value the
scan cannot prove is a tensor (``layer.backward(dout)``, ``self.softmax(x)``,
``model.sigmoid(z)``: the submission's own classes and objects); the
context managers and switches that compute no gradient (``torch.no_grad``,
``torch.enable_grad``, ``torch.inference_mode``, ``torch.set_grad_enabled``,
``torch.autograd.grad_mode.*``, ``torch.autograd.Variable``).

A hit inside a function counts against that function and against every
graded function that calls it (by name, transitively).  Module-level
imports of banned *functions* or packages are reported too (function None)
but are not charged to any function; importing a module such as
``torch.nn.functional`` is not by itself a hit (using it is).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from grader.judge.scan_scopes import (
    _NOT_TENSOR_METHODS,
    NO_GRADIENT,
    _Binder,
    _is_banned,
    _returns_tensor,
    _Scope,
    _under,
)

__all__ = ["NO_GRADIENT", "StaticHit", "hits_for", "scan"]


@dataclass(frozen=True)
class StaticHit:
    """A banned name found in the source.

    Attributes:
        name: the banned dotted name it resolves to (``"torch.softmax"``).
        line: 1-based source line.
        function: enclosing top-level function or class, or None at module level.
        text: the source line, stripped.
    """

    name: str
    line: int
    function: str | None
    text: str


#: Names under banned prefixes (``torch.autograd``) that compute no gradient:
#: grad-mode switches and the legacy ``Variable`` wrapper.  Never a hit.
class _Scanner(ast.NodeVisitor):
    def __init__(self, source: str, banned: tuple[str, ...], scopes: dict[int, _Scope]) -> None:
        self.lines = source.splitlines()
        self.banned = banned
        self.scopes = scopes
        self.scope: _Scope | None = None
        self.hits: list[StaticHit] = []
        self.func: str | None = None
        self.calls: dict[str, set[str]] = {}
        self.toplevel: set[str] = set()
        self._seen: set[tuple[str, int, str | None]] = set()
        self._resolving: set[tuple[int, str]] = set()
        self._tensor_memo: dict[tuple[int, str], bool] = {}
        self.method_bans = {b.split(".", 2)[2]: b for b in banned if b.startswith("torch.Tensor.")}

    # -- helpers --------------------------------------------------------------
    def _hit(self, name: str, node: ast.AST) -> None:
        line = getattr(node, "lineno", 0)
        key = (name, line, self.func)
        if key in self._seen:
            return
        self._seen.add(key)
        text = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        self.hits.append(StaticHit(name, line, self.func, text[:200]))

    def const_str(self, node: ast.AST) -> str | None:
        """Constant-fold a string expression, or None."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            a, b = self.const_str(node.left), self.const_str(node.right)
            return a + b if a is not None and b is not None else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            a = self.const_str(node.left)
            if a is not None and isinstance(node.right, ast.Constant) and isinstance(node.right.value, int):
                return a * min(node.right.value, 100)
        if isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                if isinstance(v, ast.Constant):
                    parts.append(str(v.value))
                elif isinstance(v, ast.FormattedValue):
                    s = self.const_str(v.value)
                    if s is None:
                        return None
                    parts.append(s)
                else:
                    return None
            return "".join(parts)
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            s = self.const_str(node.value)
            sl = node.slice
            try:
                args = [None if x is None else ast.literal_eval(x) for x in (sl.lower, sl.upper, sl.step)]
                return s[slice(*args)] if s is not None else None
            except Exception:
                return None
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
                and len(node.args) == 1 and isinstance(node.args[0], (ast.List, ast.Tuple))):
            sep = self.const_str(node.func.value)
            items = [self.const_str(e) for e in node.args[0].elts]
            if sep is not None and all(i is not None for i in items):
                return sep.join(items)  # type: ignore[arg-type]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.args:
            s = self.const_str(node.func.value)
            if s is not None and node.func.attr in ("lower", "upper", "strip", "casefold"):
                return getattr(s, node.func.attr)()
        return None

    def _lookup(self, name: str) -> _Scope | None:
        """The scope whose binding of ``name`` a load in the current scope sees (None: a builtin/unbound)."""
        s = self.scope
        first = True
        while s is not None:
            if name in s.globals:
                while s.parent is not None:
                    s = s.parent
                return s if name in s.bound else None
            if (first or s.kind != "class") and name in s.bound and name not in s.nonlocals:
                return s
            first = False
            s = s.parent
        return None

    def _alias(self, name: str) -> str | None:
        """The dotted name ``name`` surely stands for here, or None."""
        s = self._lookup(name)
        if s is None:
            return None
        key = (id(s), name)
        if key in self._resolving:
            return None
        self._resolving.add(key)
        try:
            targets = set()
            for kind, value in s.bindings.get(name, ()):
                if kind == "alias":
                    targets.add(value)
                elif kind == "assign" and value is not None:
                    saved, self.scope = self.scope, s
                    try:
                        d = self.resolve(value)
                    finally:
                        self.scope = saved
                    if d is None:
                        return None
                    targets.add(d)
                else:
                    return None
            return targets.pop() if len(targets) == 1 else None
        finally:
            self._resolving.discard(key)

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted name an expression surely refers to, if it is rooted in an import."""
        if isinstance(node, ast.Name):
            return self._alias(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id == "getattr" and self._lookup("getattr") is None and len(node.args) >= 2:
                base = self.resolve(node.args[0])
                attr = self.const_str(node.args[1])
                if base and attr:
                    return f"{base}.{attr}"
            is_dunder = isinstance(f, ast.Name) and f.id == "__import__" and self._lookup("__import__") is None
            if is_dunder or self.resolve(f) == "importlib.import_module":
                if node.args:
                    name = self.const_str(node.args[0])
                    if name:
                        fromlist = any(isinstance(k.value, (ast.List, ast.Tuple)) and k.value.elts
                                       for k in node.keywords if k.arg == "fromlist")
                        if is_dunder:
                            return name if fromlist or len(node.args) >= 4 else name.split(".")[0]
                        return name
            if isinstance(f, ast.Attribute) and f.attr in ("__getattribute__", "__getattr__") and node.args:
                base = self.resolve(f.value)
                attr = self.const_str(node.args[0])
                if base and attr:
                    return f"{base}.{attr}"
        if isinstance(node, ast.Subscript):  # vars(torch)["softmax"], torch.__dict__["softmax"]
            key = self.const_str(node.slice)
            v = node.value
            base = None
            if (isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "vars" and v.args
                    and self._lookup("vars") is None):
                base = self.resolve(v.args[0])
            elif isinstance(v, ast.Attribute) and v.attr == "__dict__":
                base = self.resolve(v.value)
            if base and key:
                return f"{base}.{key}"
        return None

    def is_tensor(self, node: ast.AST) -> bool:
        """Whether ``node`` is provably a torch.Tensor (see the module docstring)."""
        if isinstance(node, ast.Call):
            d = self.resolve(node.func)
            if d is not None:
                return _returns_tensor(d)
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr not in _NOT_TENSOR_METHODS and self.is_tensor(f.value):
                return not f.attr.startswith("_")
            return False
        if isinstance(node, ast.BinOp):
            l, r = self.is_tensor(node.left), self.is_tensor(node.right)
            num = (lambda n: isinstance(n, ast.Constant) and isinstance(n.value, (int, float)))
            return (l and (r or num(node.right))) or (r and num(node.left))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return self.is_tensor(node.operand)
        if isinstance(node, ast.Subscript):
            return self.is_tensor(node.value)
        if isinstance(node, ast.Attribute) and node.attr in ("T", "mT", "H", "mH", "data", "real", "imag"):
            return self.is_tensor(node.value)
        if isinstance(node, ast.Name):
            s = self._lookup(node.id)
            if s is None or s.kind == "class":
                return False
            key = (id(s), node.id)
            if key in self._tensor_memo:
                return self._tensor_memo[key]
            self._tensor_memo[key] = False  # recursion guard
            ok = bool(s.bindings.get(node.id))
            for kind, value in s.bindings.get(node.id, ()):
                saved, self.scope = self.scope, s
                try:
                    if kind == "param":
                        ok = ok and value is not None and self.resolve(value) == "torch.Tensor"
                    elif kind == "assign" and value is not None:
                        ok = ok and self.is_tensor(value)
                    elif kind == "augassign":
                        pass  # x += y keeps a tensor a tensor
                    else:
                        ok = False
                finally:
                    self.scope = saved
                if not ok:
                    break
            self._tensor_memo[key] = ok
            return ok
        return False

    def check(self, node: ast.AST) -> bool:
        """Record a hit when ``node`` surely names a banned routine; True when the node is settled
        (a hit, or a name that computes no gradient, whose parts must not be visited)."""
        dotted = self.resolve(node)
        if dotted:
            if any(_under(dotted, s) for s in NO_GRADIENT):
                return True
            b = _is_banned(dotted, self.banned)
            if b:
                self._hit(dotted, node)
                return True
        return False

    # -- visitors -------------------------------------------------------------
    def visit_Module(self, node: ast.Module) -> None:
        self.scope = self.scopes[id(node)]
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.toplevel.add(stmt.name)
            elif _assigned_name(stmt):
                self.toplevel.add(_assigned_name(stmt))
        for stmt in node.body:
            name = stmt.name if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else \
                _assigned_name(stmt)
            if name:
                # A module-level ``softmax = torch.softmax`` (or ``_F = getattr(torch, ...)``) is charged
                # to the name it binds, and so to every function that uses that name.
                self.func = name
                self.calls.setdefault(name, set())
                self.visit(stmt)
                self.func = None
            else:
                self.visit(stmt)

    def _in_scope(self, node: ast.AST, parts: list) -> None:
        outer = self.scope
        self.scope = self.scopes.get(id(node), outer)
        for p in parts:
            if isinstance(p, list):
                for x in p:
                    self.visit(x)
            elif p is not None:
                self.visit(p)
        self.scope = outer

    def _visit_function(self, node) -> None:
        if not isinstance(node, ast.Lambda):
            for d in node.decorator_list:
                self.visit(d)
        for d in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(d)
        body = node.body if isinstance(node.body, list) else [node.body]
        self._in_scope(node, [body])

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _visit_function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for b in node.bases + [k.value for k in node.keywords] + node.decorator_list:
            self.visit(b)
        self._in_scope(node, [node.body])

    def _visit_comp(self, node) -> None:
        parts = []
        for g in node.generators:
            parts += [g.target, g.iter, list(g.ifs)]
        parts += [getattr(node, p, None) for p in ("elt", "key", "value")]
        self._in_scope(node, parts)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comp

    def visit_arg(self, node: ast.arg) -> None:
        return  # annotations name types, not calls

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            b = _is_banned(a.name, self.banned)
            if b and not a.name.startswith("torch"):
                self._hit(a.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not node.module or node.level:
            return
        for a in node.names:
            full = node.module if a.name == "*" else f"{node.module}.{a.name}"
            b = _is_banned(full, self.banned)
            if b and (not full.startswith("torch") or a.name == "*" or not _looks_like_module(full)):
                self._hit(full, node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if self.func and node.id in self.toplevel and node.id != self.func:
                s = self._lookup(node.id)
                if s is not None and s.parent is None:
                    self.calls[self.func].add(node.id)
            self.check(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if self.check(node):
            return
        if node.attr in self.method_bans and self.is_tensor(node.value):
            self._hit(self.method_bans[node.attr], node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if self.check(node):
            for a in node.args:
                self.visit(a)
            for k in node.keywords:
                self.visit(k.value)
            return
        f = node.func
        if (isinstance(f, ast.Name) and f.id == "getattr" and self._lookup("getattr") is None and len(node.args) >= 2
                and self.resolve(node.args[0]) is None):
            attr = self.const_str(node.args[1])
            if attr in self.method_bans and self.is_tensor(node.args[0]):
                self._hit(self.method_bans[attr], node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if self.check(node):
            return
        self.generic_visit(node)


def _assigned_name(stmt: ast.AST) -> str | None:
    """The one name a module-level ``NAME = value`` binds, or None."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name):
        return stmt.target.id
    return None


def _looks_like_module(dotted: str) -> bool:
    last = dotted.rsplit(".", 1)[-1]
    return last in {"functional", "nn", "autograd", "func", "modules", "init", "metrics", "special", "optim",
                    "utils", "_nn", "_C", "_VF"}


def scan(source: str, banned: tuple[str, ...]) -> tuple[list[StaticHit], dict[str, set[str]]]:
    """Scan ``source`` for uses of ``banned`` names.

    Returns:
        ``(hits, calls)``: every hit, and the call graph between top-level
        functions and classes (name -> names of top-level functions and
        classes it references).  A source that does not parse gives no hits
        (the syntax error is reported elsewhere).
    """
    if not banned:
        return [], {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [], {}
    binder = _Binder()
    binder.visit(tree)
    s = _Scanner(source, tuple(banned), binder.scopes)
    s.visit(tree)
    return s.hits, s.calls


def hits_for(function: str, hits: list[StaticHit], calls: dict[str, set[str]]) -> list[StaticHit]:
    """Hits inside ``function`` or any top-level function it reaches by name."""
    reach, todo = set(), [function]
    while todo:
        f = todo.pop()
        if f in reach:
            continue
        reach.add(f)
        todo.extend(calls.get(f, ()))
    return [h for h in hits if h.function in reach]
