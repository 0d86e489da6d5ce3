"""Scopes and types for the static scan (:mod:`grader.judge.scan`): what each Python scope binds and
to what (imports, aliases, parameters), the names that compute no gradient, and which ``torch``
callables return tensors.
"""

from __future__ import annotations

import ast

__all__ = ["NO_GRADIENT", "_NOT_TENSOR_METHODS", "_Binder", "_Scope", "_is_banned", "_own_nodes", "_returns_tensor", "_under"]

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


def _under(dotted: str, prefix: str) -> bool:
    return dotted == prefix or dotted.startswith(prefix + ".")


def _is_banned(dotted: str, banned: tuple[str, ...]) -> str | None:
    if any(_under(dotted, s) for s in NO_GRADIENT):
        return None
    for b in banned:
        if _under(dotted, b):
            return b
    return None


def _torch_attr(dotted: str):
    """The object ``dotted`` (``"torch.exp"``) names in the installed torch, or None."""
    import importlib
    import sys

    parts = dotted.split(".")
    if parts[0] != "torch" or "torch" not in sys.modules:
        return None
    obj = sys.modules["torch"]
    for i, p in enumerate(parts[1:], 1):
        try:
            obj = getattr(obj, p)
        except Exception:
            try:
                obj = importlib.import_module(".".join(parts[: i + 1]))
            except Exception:
                return None
    return obj


def _returns_tensor(dotted: str) -> bool:
    """A ``torch`` callable whose result is a tensor (a function, not a class or a module)."""
    import inspect
    import types

    if not dotted.startswith("torch.") or dotted.startswith("torch.Tensor"):
        return False
    obj = _torch_attr(dotted)
    if obj is None or inspect.isclass(obj) or isinstance(obj, types.ModuleType):
        return False
    name = dotted.rsplit(".", 1)[-1]
    if name.startswith("is_") or name in {"split", "chunk", "unbind", "meshgrid", "broadcast_tensors", "where",
                                          "sort", "topk", "max", "min", "var_mean", "std_mean", "unique",
                                          "nonzero", "tensor_split", "hsplit", "vsplit", "dsplit", "aminmax",
                                          "svd", "qr", "eig", "slogdet", "lu", "histogram", "frexp", "kthvalue",
                                          "median", "mode", "cummax", "cummin", "numel", "get_default_dtype",
                                          "manual_seed", "seed", "initial_seed", "typename", "result_type",
                                          "promote_types", "can_cast", "finfo", "iinfo", "device", "Size"}:
        return False  # tuples, namedtuples, Python values
    return callable(obj)


_FUNC_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_SCOPE_NODES = _FUNC_NODES + (ast.ClassDef, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_NOT_TENSOR_METHODS = {"tolist", "item", "numpy", "size", "dim", "numel", "stride", "storage", "untyped_storage",
                       "data_ptr", "element_size", "nelement", "ndimension", "is_contiguous", "get_device",
                       "type", "split", "chunk", "unbind", "max", "min", "sort", "topk", "__array__", "cpu_"}


def _own_nodes(scope_node: ast.AST):
    """The nodes of a function's body, not descending into nested scopes."""
    todo = list(scope_node.body) if isinstance(scope_node.body, list) else [scope_node.body]
    while todo:
        n = todo.pop()
        yield n
        if not isinstance(n, _SCOPE_NODES):
            todo.extend(ast.iter_child_nodes(n))


class _Scope:
    """Names bound in one Python scope, and the aliases among them."""

    def __init__(self, node: ast.AST, parent: _Scope | None) -> None:
        self.node = node
        self.parent = parent
        self.kind = ("module" if isinstance(node, ast.Module) else "class" if isinstance(node, ast.ClassDef)
                     else "function")
        self.bound: set[str] = set()
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        self.bindings: dict[str, list] = {}  # name -> list of (kind, value node or dotted name)
        self.annotations: dict[str, ast.AST] = {}


class _Binder(ast.NodeVisitor):
    """First pass: every scope's bound names, with what each binding assigns."""

    def __init__(self) -> None:
        self.scopes: dict[int, _Scope] = {}
        self.cur: _Scope | None = None

    def _bind(self, name: str, kind: str, value=None) -> None:
        s = self.cur
        if name in s.globals:
            s = self._module()
        s.bound.add(name)
        s.bindings.setdefault(name, []).append((kind, value))

    def _module(self) -> _Scope:
        s = self.cur
        while s.parent is not None:
            s = s.parent
        return s

    def _enter(self, node: ast.AST) -> _Scope:
        s = _Scope(node, self.cur)
        self.scopes[id(node)] = s
        return s

    def visit_Module(self, node: ast.Module) -> None:
        self.cur = self._enter(node)
        # global/nonlocal declarations first (they apply to the whole scope)
        self.generic_visit(node)

    def _targets(self, t: ast.AST, kind: str, value=None) -> None:
        if isinstance(t, ast.Name):
            self._bind(t.id, kind, value)
        elif isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts:
                self._targets(e, "other")
        elif isinstance(t, ast.Starred):
            self._targets(t.value, "other")
        else:
            self.visit(t)  # attribute / subscript targets: visit their parts

    def _function(self, node) -> None:
        if not isinstance(node, ast.Lambda):
            self._bind(node.name, "def", node)
            for d in node.decorator_list:
                self.visit(d)
            if node.returns:
                self.visit(node.returns)
        for d in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(d)
        outer = self.cur
        self.cur = self._enter(node)
        for n in _own_nodes(node):
            if isinstance(n, ast.Global):
                self.cur.globals.update(n.names)
            elif isinstance(n, ast.Nonlocal):
                self.cur.nonlocals.update(n.names)
        a = node.args
        for arg in a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]:
            self._bind(arg.arg, "param", arg.annotation)
            if arg.annotation is not None:
                self.cur.annotations[arg.arg] = arg.annotation
        if isinstance(node.body, list):
            for stmt in node.body:
                self.visit(stmt)
        else:
            self.visit(node.body)
        self.cur = outer

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._bind(node.name, "class", node)
        for b in node.bases + [k.value for k in node.keywords] + node.decorator_list:
            self.visit(b)
        outer = self.cur
        self.cur = self._enter(node)
        for stmt in node.body:
            self.visit(stmt)
        self.cur = outer

    def _comp(self, node) -> None:
        outer = self.cur
        self.cur = self._enter(node)
        for g in node.generators:
            self._targets(g.target, "other")
            self.visit(g.iter)
            for i in g.ifs:
                self.visit(i)
        for part in ("elt", "key", "value"):
            if hasattr(node, part):
                self.visit(getattr(node, part))
        self.cur = outer

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comp

    def visit_Global(self, node: ast.Global) -> None:
        self.cur.globals.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.cur.nonlocals.update(node.names)

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if a.asname:
                self._bind(a.asname, "alias", a.name)
            else:
                root = a.name.split(".")[0]
                self._bind(root, "alias", root)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for a in node.names:
            if a.name == "*":
                continue
            if node.module and not node.level:
                self._bind(a.asname or a.name, "alias", f"{node.module}.{a.name}")
            else:
                self._bind(a.asname or a.name, "other")

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for t in node.targets:
            self._targets(t, "assign", node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.annotation)
        self._targets(node.target, "assign" if node.value is not None else "other", node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        self._targets(node.target, "augassign", node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        s = self.cur
        while s.kind != "module" and isinstance(s.node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            s = s.parent
        outer, self.cur = self.cur, s
        self._targets(node.target, "assign", node.value)
        self.cur = outer

    def visit_For(self, node) -> None:
        self.visit(node.iter)
        self._targets(node.target, "other")
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_With(self, node) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self._targets(item.optional_vars, "other")
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self._bind(node.name, "other")
        for stmt in node.body:
            self.visit(stmt)

    def visit_Delete(self, node: ast.Delete) -> None:
        for t in node.targets:
            self._targets(t, "other")

    def visit_MatchAs(self, node) -> None:
        if node.name:
            self._bind(node.name, "other")
        self.generic_visit(node)

    def visit_MatchStar(self, node) -> None:
        if node.name:
            self._bind(node.name, "other")

    def visit_MatchMapping(self, node) -> None:
        if node.rest:
            self._bind(node.rest, "other")
        self.generic_visit(node)


