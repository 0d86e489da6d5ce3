"""grader.sandbox.inside.guard: run-time detection of banned calls, exercised in this process."""

from __future__ import annotations

import functools
import importlib.util
import sys

import pytest
import torch
import torch.nn.functional as F

from grader.sandbox.inside.guard import TAMPER, Guard
from grader.sandbox.worker import library_dirs

BANNED = ("torch.softmax", "torch.Tensor.softmax", "torch.special.softmax", "torch.nn.functional", "torch.sigmoid",
          "torch.Tensor.sigmoid")
OPS = ("aten::_softmax", "aten::sigmoid")
LIBS = library_dirs()
X = torch.randn(3, 4, dtype=torch.float64)


def _run(fn, *, banned=BANNED, ops=OPS, libs=LIBS) -> list[tuple[str, str]]:
    g = Guard(banned=banned, banned_ops=ops, library_dirs=libs)
    with g:
        fn()
    return [(h.name, h.how) for h in g.hits]


ROUTES = {
    "torch_softmax": (lambda: torch.softmax(X, -1), "torch.softmax"),
    "tensor_method": (lambda: X.softmax(-1), "torch.Tensor.softmax"),
    "unbound_method": (lambda: torch.Tensor.softmax(X, -1), "torch.Tensor.softmax"),
    "functional": (lambda: F.softmax(X, -1), "torch.nn.functional.softmax"),
    "functional_other_function": (lambda: F.gelu(X), "torch.nn.functional.gelu"),
    "special": (lambda: torch.special.softmax(X, -1), "torch.special.softmax"),
    "sigmoid_method": (lambda: X.sigmoid(), "torch.Tensor.sigmoid"),
    "functional_via_map": (lambda: list(map(F.softmax, [X], [-1])), "torch.nn.functional.softmax"),
}


@pytest.mark.parametrize("fn, name", list(ROUTES.values()), ids=list(ROUTES))
def test_named_route_is_recorded_by_the_profiler(fn, name):
    assert (name, "call") in _run(fn, ops=())


OP_ROUTES = {
    "aten_op_directly": (lambda: torch.ops.aten._softmax(X, -1, False), "aten::_softmax"),
    "aten_overload": (lambda: torch.ops.aten._softmax.default(X, -1, False), "aten::_softmax"),
    "partial_of_torch_softmax": (lambda: functools.partial(torch.softmax, dim=-1)(X), "aten::_softmax"),
    "map_over_torch_softmax": (lambda: list(map(torch.softmax, [X], [-1])), "aten::_softmax"),
    "nn_module": (lambda: torch.nn.Softmax(dim=-1)(X), "aten::_softmax"),
    "torch_softmax": (lambda: torch.softmax(X, -1), "aten::_softmax"),
    "sigmoid_via_partial": (lambda: functools.partial(torch.Tensor.sigmoid)(X), "aten::sigmoid"),
}


@pytest.mark.parametrize("fn, op", list(OP_ROUTES.values()), ids=list(OP_ROUTES))
def test_op_level_route_is_recorded_by_the_dispatch_mode(fn, op):
    assert (op, "op") in _run(fn)


def test_c_to_c_routes_are_seen_by_the_function_mode_and_the_op_layer():
    """partial/map call torch.softmax from C: the profiler cannot see it; the torch function mode
    (by name) and the dispatch mode (by operator) must."""
    route = lambda: functools.partial(torch.softmax, dim=-1)(X)
    assert _run(route, ops=()) == [("torch.softmax", "call")]
    assert sorted(_run(route)) == [("aten::_softmax", "op"), ("torch.softmax", "call")]


def test_hit_line_points_at_the_callers_line():
    g = Guard(banned=BANNED, banned_ops=OPS, library_dirs=LIBS)
    with g:
        line = sys._getframe().f_lineno + 1
        torch.nn.Softmax(dim=-1)(X)
    assert [(h.name, h.line, h.file) for h in g.hits] == [("aten::_softmax", line, __file__)]


ALLOWED = {
    "stable_softmax_by_hand": lambda: (lambda e: e / e.sum(-1, keepdim=True))(torch.exp(X - X.amax(-1, keepdim=True))),
    "log_sum_exp": lambda: torch.logsumexp(X, -1),
    "matmul_and_where": lambda: torch.where(X > 0, X @ X.T @ X, X),
    "functional_imported_not_called": lambda: F,
    "tanh_method": lambda: X.tanh(),
    "einsum": lambda: torch.einsum("ij,kj->ik", X, X),
}


@pytest.mark.parametrize("fn", list(ALLOWED.values()), ids=list(ALLOWED))
def test_allowed_ops_are_not_flagged(fn):
    assert _run(fn) == []


@pytest.fixture()
def fake_library(tmp_path):
    """A third-party module (in ``library_dirs``) that calls banned routines internally."""
    (tmp_path / "fancylib.py").write_text(
        "import torch\nimport torch.nn.functional as F\n\n"
        "def normalize(x):\n    return F.softmax(x, -1) + torch.softmax(x, -1) + x.softmax(-1)\n")
    spec = importlib.util.spec_from_file_location("fancylib", tmp_path / "fancylib.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, str(tmp_path)


def test_library_internal_calls_are_not_flagged_by_name(fake_library):
    mod, libdir = fake_library
    assert _run(lambda: mod.normalize(X), ops=(), libs=(*LIBS, libdir)) == []


def test_same_calls_from_student_code_are_flagged(fake_library):
    mod, _ = fake_library  # without its folder in library_dirs the module is "student code"
    hits = _run(lambda: mod.normalize(X), ops=())
    assert {n for n, _ in hits} == {"torch.nn.functional.softmax", "torch.softmax", "torch.Tensor.softmax"}


def test_torch_internals_do_not_count_as_the_student_calling(fake_library):
    # F.softmax itself calls Tensor.softmax inside torch: only the student's F.softmax call is recorded.
    assert _run(lambda: F.softmax(X, -1), ops=()) == [("torch.nn.functional.softmax", "call")]


def test_removing_the_profiler_is_reported_as_tampering():
    def attack():
        sys.setprofile(None)
        torch.softmax(X, -1)

    hits = _run(attack, ops=())
    assert (f"{TAMPER}: the profiler was removed or replaced", "tamper") in hits
    assert sys.getprofile() is None  # the guard cleaned up after itself


def test_replacing_the_profiler_is_reported_as_tampering():
    hits = _run(lambda: sys.setprofile(lambda *a: None), ops=())
    assert [how for _, how in hits] == ["tamper"]
    assert sys.getprofile() is None


def test_guard_uninstalls_its_hooks_and_repeat_hits_are_deduplicated():
    g = Guard(banned=BANNED, banned_ops=OPS, library_dirs=LIBS)
    with g:
        for _ in range(5):
            torch.softmax(X, -1)
    assert sys.getprofile() is None
    assert len(g.hits) == 2  # one call + one op, not 5 of each
    n = len(g.hits)
    torch.softmax(X, -1)  # outside the block: not recorded
    assert len(g.hits) == n


def test_hits_serialize_for_the_wire():
    g = Guard(banned=BANNED, banned_ops=(), library_dirs=LIBS)
    with g:
        torch.sigmoid(X)
    d = g.hits[0].as_dict()
    assert d["name"] == "torch.sigmoid" and d["how"] == "call" and d["file"] == __file__ and isinstance(d["line"], int)


# --------------------------------------------------------------------------- issue 8: never flag correct code

AUTOGRAD_BANNED = ("torch.autograd", "torch.func", "torch.Tensor.backward", "torch.softmax")


def test_contexts_that_compute_no_gradient_are_not_autograd():
    @torch.no_grad()
    def decorated(x):
        return x * 2

    def student():
        with torch.no_grad():
            y = X * 2
        with torch.inference_mode():
            y = y + 1
        with torch.autograd.no_grad(), torch.enable_grad(), torch.set_grad_enabled(False):
            y = y - 1
        with torch.autograd.grad_mode.inference_mode(True):
            pass
        return decorated(y), torch.autograd.Variable(y)

    assert _run(student, banned=AUTOGRAD_BANNED, ops=()) == []


def test_layer_objects_with_their_own_backward_are_not_the_tensor_method():
    class Linear:
        def forward(self, x, W):
            self.cache = (x, W)
            return x @ W

        def backward(self, dout):
            x, W = self.cache
            return dout @ W.T, x.T @ dout

    def student():
        layer = Linear()
        out = layer.forward(X, X.T)
        return layer.backward(torch.ones_like(out))

    assert _run(student, banned=AUTOGRAD_BANNED, ops=()) == []


# --------------------------------------------------------------------------- issue 9: routes that used to pass

def _autograd_hits(fn):
    return [n for n, how in _run(fn, banned=AUTOGRAD_BANNED, ops=()) if how == "op"]


def test_backward_called_from_library_code_is_still_a_backward_pass():
    import torch.utils._pytree as pytree

    def student():
        y = X.clone().requires_grad_()
        loss = (y * y).sum()
        pytree.tree_map(torch.Tensor.backward, loss)  # the library calls .backward, not the student
        return y.grad

    assert "torch.autograd (a backward pass ran)" in _autograd_hits(student)


def test_the_engine_called_directly_is_a_backward_pass():
    def student():
        y = X.clone().requires_grad_()
        loss = (y * y).sum()
        engine = torch._C._ImperativeEngine()
        return engine.run_backward((loss,), (torch.ones_like(loss),), False, False, (y,), False, False)

    assert "torch.autograd (a backward pass ran)" in _autograd_hits(student)


def test_functorch_grad_is_a_backward_pass():
    assert "torch.autograd (a backward pass ran)" in _autograd_hits(lambda: torch.func.grad(lambda t: (t * t).sum())(X))


def test_c_function_through_map_is_seen():
    elu = torch._C._nn.elu
    hits = _run(lambda: list(map(elu, [X], [1.0])), banned=("torch._C._nn",), ops=())
    assert ("torch._C._nn.elu", "call") in hits


def test_composite_routine_is_seen_at_its_entry_point():
    """aten::lstm_cell decomposes before the dispatch mode; map() leaves no profiler event."""
    h = torch.zeros(3, 2, dtype=torch.float64)
    W, U, b = torch.randn(8, 4, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64), torch.zeros(8,
                                                                                                         dtype=torch.float64)
    via_map = lambda: list(map(torch._C._VariableFunctions.lstm_cell, [X], [(h, h)], [W], [U], [b], [b]))
    via_ops = lambda: torch.ops.aten.lstm_cell(X, [h, h], W, U, b, b)
    for fn in (via_map, via_ops):
        assert ("aten::lstm_cell", "op") in _run(fn, banned=(), ops=("aten::lstm_cell",)), fn
    assert _run(lambda: torch.tanh(X) * torch.sigmoid(X), banned=(), ops=("aten::lstm_cell",)) == []


def test_a_copy_of_a_library_function_is_still_that_function():
    """Re-executing the library's own source gives new code objects: matched by file and line."""
    import inspect
    import textwrap

    lines, first = inspect.getsourcelines(F.softmax)
    src = "\n" * (first - 1) + textwrap.dedent("".join(lines))
    ns: dict = dict(vars(F), __name__="not_torch")
    exec(compile(src, F.__file__, "exec"), ns)
    assert ns["softmax"] is not F.softmax and ns["softmax"].__code__ is not F.softmax.__code__
    hits = _run(lambda: ns["softmax"](X, -1), ops=())
    assert ("torch.nn.functional.softmax", "call") in hits


def test_another_librarys_ufunc_is_seen_through_map():
    import scipy.special

    g = Guard(banned=("scipy.special.expit",), banned_ops=(), library_dirs=LIBS)
    with g:
        list(map(scipy.special.expit, [X.numpy()]))
    assert [(h.name, h.how) for h in g.hits] == [("scipy.special.expit", "call")]
    assert float(scipy.special.expit(0.0)) == 0.5  # the wrapper still computes


def test_switching_the_dispatch_mode_off_is_tampering():
    def attack():
        with torch._C._DisableTorchDispatch():
            torch.ops.aten._softmax(X, -1, False)

    hits = _run(attack, banned=(), ops=OPS)
    assert (f"{TAMPER}: dispatch to the guard's operator mode was disabled", "tamper") in hits


def test_popping_the_modes_is_tampering():
    from torch.utils._python_dispatch import _pop_mode, _push_mode

    def attack():
        mode = _pop_mode()
        try:
            torch.ops.aten._softmax(X, -1, False)
        finally:
            _push_mode(mode)

    hits = _run(attack, banned=(), ops=OPS)
    assert any(how == "tamper" for _, how in hits), hits


def test_guard_costs_little_per_case():
    """The added layers stay cheap: entering and leaving the guard around a small call."""
    import time

    g = Guard(banned=BANNED, banned_ops=OPS, library_dirs=LIBS)
    with g:
        pass
    n, t = 200, time.perf_counter()
    for _ in range(n):
        with Guard(banned=BANNED, banned_ops=OPS, library_dirs=LIBS):
            X.exp()
    per_case = (time.perf_counter() - t) / n
    assert per_case < 0.02, f"{per_case * 1000:.2f} ms per case"  # generous: a busy 2-core machine


def test_disabling_the_function_mode_around_a_composite_is_tampering():
    """DisableTorchFunction + map over a composite routine leaves no other trace."""
    h = torch.zeros(3, 2, dtype=torch.float64)
    W, U, b = torch.randn(8, 4, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64), torch.zeros(8,
                                                                                                         dtype=torch.float64)

    def attack():
        with torch._C.DisableTorchFunction():
            list(map(torch._C._VariableFunctions.lstm_cell, [X], [(h, h)], [W], [U], [b], [b]))

    hits = _run(attack, banned=(), ops=("aten::lstm_cell",))
    assert (f"{TAMPER}: your code called torch._C.DisableTorchFunction", "tamper") in hits, hits


def test_popping_the_function_mode_through_contextlib_is_tampering():
    from torch.overrides import _pop_mode_temporarily

    def attack():
        with _pop_mode_temporarily():
            torch.softmax(X, -1)

    hits = _run(attack, banned=("torch.softmax",), ops=())
    assert any(how == "tamper" and "_pop_mode_temporarily" in n for n, how in hits), hits


def test_standard_library_wrappers_are_not_mistaken_for_banned_routines():
    """A banned routine decorated with @contextmanager shares contextlib's wrapper code with every
    other context manager: the student's own context managers must not match it."""
    import contextlib
    import subprocess

    @contextlib.contextmanager
    def mine():
        yield 1

    def student():
        with mine():
            subprocess.run(["true"], check=False) if False else None
        with contextlib.suppress(ValueError):
            pass

    assert _run(student, banned=AUTOGRAD_BANNED + ("torch.overrides",), ops=OPS) == []
