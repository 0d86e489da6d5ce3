"""Static detection of banned calls: an AST scan of the student's source.

Resolves what each expression names, following imports and aliases
(``import torch.nn.functional as F``, ``from torch import softmax as sm``,
``f = torch.softmax``), ``getattr(obj, "name")`` with constant-folded
strings (``"soft" + "max"``, f-strings of constants, ``"".join([...])``,
``"xamtfos"[::-1]``), ``__import__``/``importlib.import_module`` of constant
names, and method calls on tensors (``x.softmax(-1)`` matches
``torch.Tensor.softmax``).

A hit inside a function counts against that function and against every
graded function that calls it (by name, transitively).  Module-level
imports of banned *functions* or packages are reported too; importing a
module such as ``torch.nn.functional`` is not by itself a hit (using it is).

The run-time guard (:mod:`grader.sandbox.inside.guard`) catches what static analysis
cannot see.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

__all__ = ["StaticHit", "scan", "hits_for"]


@dataclass(frozen=True)
class StaticHit:
    """A banned name found in the source.

    Attributes:
        name: the banned dotted name it resolves to (``"torch.softmax"``).
        line: 1-based source line.
        function: enclosing top-level function, or None at module level.
        text: the source line, stripped.
    """

    name: str
    line: int
    function: str | None
    text: str


def _is_banned(dotted: str, banned: tuple[str, ...]) -> str | None:
    for b in banned:
        if dotted == b or dotted.startswith(b + "."):
            return b
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, source: str, banned: tuple[str, ...]) -> None:
        self.lines = source.splitlines()
        self.banned = banned
        self.aliases: dict[str, str] = {}
        self.hits: list[StaticHit] = []
        self.func: str | None = None
        self.locals: set[str] = set()
        self.calls: dict[str, set[str]] = {}
        self.toplevel: set[str] = set()
        self._seen: set[tuple[str, int, str | None]] = set()
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

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted name an expression refers to, if it is rooted in an import."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id == "getattr" and len(node.args) >= 2:
                base = self.resolve(node.args[0])
                attr = self.const_str(node.args[1])
                if base and attr:
                    return f"{base}.{attr}"
            if (isinstance(f, ast.Name) and f.id == "__import__") or self.resolve(f) == "importlib.import_module":
                if node.args:
                    name = self.const_str(node.args[0])
                    if name:
                        fromlist = any(isinstance(k.value, (ast.List, ast.Tuple)) and k.value.elts
                                       for k in node.keywords if k.arg == "fromlist")
                        if f.id == "__import__" if isinstance(f, ast.Name) else False:
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
            if isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "vars" and v.args:
                base = self.resolve(v.args[0])
            elif isinstance(v, ast.Attribute) and v.attr == "__dict__":
                base = self.resolve(v.value)
            if base and key:
                return f"{base}.{key}"
        return None

    def check(self, node: ast.AST) -> bool:
        dotted = self.resolve(node)
        if dotted:
            b = _is_banned(dotted, self.banned)
            if b:
                self._hit(dotted, node)
                return True
        return False

    # -- visitors -------------------------------------------------------------
    def visit_Module(self, node: ast.Module) -> None:
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.toplevel.add(stmt.name)
        # Imports and aliases first (a function may use a name imported below it).
        for stmt in ast.walk(node):
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                self._alias_import(stmt)
        for _ in range(3):  # simple assignments, to a fixed point
            for stmt in ast.walk(node):
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                    d = self.resolve(stmt.value)
                    if d:
                        self.aliases[stmt.targets[0].id] = d
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.func = stmt.name
                self.calls.setdefault(stmt.name, set())
                self.locals = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
                self.locals |= {a.arg for n in ast.walk(stmt) if isinstance(n, (ast.FunctionDef, ast.Lambda,
                                                                               ast.AsyncFunctionDef))
                                for a in n.args.args + n.args.kwonlyargs + n.args.posonlyargs}
                self.generic_visit(stmt)
                self.func = None
            else:
                self.visit(stmt)

    def _alias_import(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    self.aliases[a.asname] = a.name
                else:
                    root = a.name.split(".")[0]
                    self.aliases[root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                if a.name != "*":
                    self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"

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
            if self.func and node.id in self.toplevel and node.id != self.func and node.id not in self.locals:
                self.calls[self.func].add(node.id)
            self.check(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if self.check(node):
            return
        if (node.attr in self.method_bans and self.resolve(node.value) is None
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
            self._hit(self.method_bans[node.attr], node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if self.check(node):
            for a in node.args:
                self.visit(a)
            return
        f = node.func
        if isinstance(f, ast.Name) and f.id == "getattr" and len(node.args) >= 2 and self.resolve(node.args[0]) is None:
            attr = self.const_str(node.args[1])
            if attr in self.method_bans:
                self._hit(self.method_bans[attr], node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if self.check(node):
            return
        self.generic_visit(node)


def _looks_like_module(dotted: str) -> bool:
    last = dotted.rsplit(".", 1)[-1]
    return last in {"functional", "nn", "autograd", "func", "modules", "init", "metrics"}


def scan(source: str, banned: tuple[str, ...]) -> tuple[list[StaticHit], dict[str, set[str]]]:
    """Scan ``source`` for uses of ``banned`` names.

    Returns:
        ``(hits, calls)``: every hit, and the call graph between top-level
        functions (function name -> names of top-level functions it references).
        A source that does not parse gives no hits (the syntax error is
        reported elsewhere).
    """
    if not banned:
        return [], {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [], {}
    s = _Scanner(source, tuple(banned))
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
