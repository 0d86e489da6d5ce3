"""grader.sandbox.inside.guard: run-time detection of banned calls, exercised in this process."""

from __future__ import annotations

import functools
import importlib.util
import sys

import pytest
import torch
import torch.nn.functional as F

from grader.sandbox.inside.guard import Guard
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


def test_c_to_c_routes_need_the_op_layer():
    """partial/map call torch.softmax from C: the profiler cannot see it, the op layer must."""
    route = lambda: functools.partial(torch.softmax, dim=-1)(X)  # noqa: E731
    assert _run(route, ops=()) == []
    assert _run(route) == [("aten::_softmax", "op")]


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
    assert ("<the grader's banned-call guard was removed>", "tamper") in hits
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
