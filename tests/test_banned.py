"""grader.judge.scan: the static AST scan for banned calls."""

from __future__ import annotations

import textwrap

import pytest

from grader.judge.scan import hits_for, scan

BANNED = ("torch.softmax", "torch.Tensor.softmax", "torch.sigmoid", "torch.Tensor.sigmoid", "torch.nn.functional",
          "torch.autograd", "torch.Tensor.backward", "sklearn")


def _hits(source: str, function: str = "f", banned=BANNED) -> list[tuple[str, int]]:
    hits, calls = scan(textwrap.dedent(source), banned)
    return [(h.name, h.line) for h in hits_for(function, hits, calls)]


# --------------------------------------------------------------------------- what is caught

CAUGHT = {
    "plain_import": ("""
        import torch
        def f(x):
            return torch.softmax(x, -1)
        """, ("torch.softmax", 4)),
    "import_alias": ("""
        import torch as T
        def f(x):
            return T.softmax(x, -1)
        """, ("torch.softmax", 4)),
    "from_import_alias": ("""
        from torch import softmax as sm
        def f(x):
            return sm(x, -1)
        """, ("torch.softmax", 4)),
    "functional_module_alias": ("""
        import torch.nn.functional as F
        def f(x):
            return F.softmax(x, -1)
        """, ("torch.nn.functional.softmax", 4)),
    "attribute_chain": ("""
        import torch
        def f(x):
            return torch.nn.functional.relu(x)
        """, ("torch.nn.functional.relu", 4)),
    "submodule_alias_chain": ("""
        import torch.nn as nn
        def f(x):
            return nn.functional.log_softmax(x, -1)
        """, ("torch.nn.functional.log_softmax", 4)),
    "module_level_assignment": ("""
        import torch
        sm = torch.softmax
        def f(x):
            return sm(x, -1)
        """, ("torch.softmax", 5)),
    "chained_assignments": ("""
        import torch
        a = torch
        b = a.sigmoid
        def f(x):
            return b(x)
        """, ("torch.sigmoid", 6)),
    "getattr_concat": ("""
        import torch
        def f(x):
            return getattr(torch, "soft" + "max")(x, -1)
        """, ("torch.softmax", 4)),
    "getattr_fstring": ("""
        import torch
        def f(x):
            return getattr(torch, f"{'soft'}max")(x, -1)
        """, ("torch.softmax", 4)),
    "getattr_reversed": ("""
        import torch
        def f(x):
            return getattr(torch, "xamtfos"[::-1])(x, -1)
        """, ("torch.softmax", 4)),
    "getattr_join": ("""
        import torch
        def f(x):
            return getattr(torch, "".join(["sig", "moid"]))(x)
        """, ("torch.sigmoid", 4)),
    "getattr_upper_lower": ("""
        import torch
        def f(x):
            return getattr(torch, "SOFTMAX".lower())(x, -1)
        """, ("torch.softmax", 4)),
    "vars_lookup": ("""
        import torch
        def f(x):
            return vars(torch)["softmax"](x, -1)
        """, ("torch.softmax", 4)),
    "dunder_dict_lookup": ("""
        import torch
        def f(x):
            return torch.__dict__["sig" + "moid"](x)
        """, ("torch.sigmoid", 4)),
    "dunder_getattribute": ("""
        import torch
        def f(x):
            return torch.__getattribute__("softmax")(x, -1)
        """, ("torch.softmax", 4)),
    "dunder_import": ("""
        def f(x):
            return __import__("torch").softmax(x, -1)
        """, ("torch.softmax", 3)),
    "importlib_import_module": ("""
        import importlib
        def f(x):
            return importlib.import_module("torch.nn.functional").softmax(x, -1)
        """, ("torch.nn.functional.softmax", 4)),
    "import_inside_function": ("""
        def f(x):
            import torch.nn.functional as F
            return F.gelu(x)
        """, ("torch.nn.functional.gelu", 4)),
    "method_call": ("""
        def f(x):
            return x.softmax(-1)
        """, ("torch.Tensor.softmax", 3)),
    "method_on_expression": ("""
        def f(x):
            return (x * 2).sigmoid()
        """, ("torch.Tensor.sigmoid", 3)),
    "method_by_getattr": ("""
        def f(x):
            return getattr(x, "soft" + "max")(-1)
        """, ("torch.Tensor.softmax", 3)),
    "method_reference_not_called": ("""
        def f(x):
            g = x.sigmoid
            return g()
        """, ("torch.Tensor.sigmoid", 3)),
    "backward": ("""
        def f(x):
            loss = (x * x).sum()
            loss.backward()
            return x.grad
        """, ("torch.Tensor.backward", 4)),
    "autograd_grad": ("""
        import torch
        def f(x):
            return torch.autograd.grad(x.sum(), x)[0]
        """, ("torch.autograd.grad", 4)),
    "sklearn_from_import_used": ("""
        from sklearn.metrics import f1_score
        def f(y, p):
            return f1_score(y, p)
        """, ("sklearn.metrics.f1_score", 4)),
}


@pytest.mark.parametrize("source, hit", list(CAUGHT.values()), ids=list(CAUGHT))
def test_banned_use_is_caught(source, hit):
    assert hit in _hits(source)


HELPERS = """
    import torch
    import torch.nn.functional as F

    def _deep(x):
        return F.softmax(x, -1)

    def _mid(x):
        return _deep(x) + 1

    def _direct(x):
        return torch.sigmoid(x)

    def f(x):
        return _mid(x)

    def g(x):
        return list(map(_direct, [x]))[0]

    def clean(x):
        return x.exp()
    """


@pytest.mark.parametrize("function, expected", [
    ("f", {("torch.nn.functional.softmax", 6)}),  # through two helpers, by name
    ("g", {("torch.sigmoid", 12)}),  # a helper passed as a value
    ("clean", set()),
    ("_deep", {("torch.nn.functional.softmax", 6)}),
])
def test_helpers_reached_by_name_count_against_the_caller(function, expected):
    assert set(_hits(HELPERS, function)) == expected


def test_hit_records_function_line_and_text():
    hits, _ = scan("import torch\n\ndef softmax(x):\n    return torch.softmax(x, -1)  # lazy\n", BANNED)
    assert len(hits) == 1
    h = hits[0]
    assert (h.name, h.line, h.function) == ("torch.softmax", 4, "softmax")
    assert h.text == "return torch.softmax(x, -1)  # lazy"


# --------------------------------------------------------------------------- no false hits

CLEAN = {
    "allowed_ops": """
        import torch
        def f(x):
            e = torch.exp(x - x.amax(-1, keepdim=True))
            return e / e.sum(-1, keepdim=True)
        """,
    "local_variable_shadows_helper": """
        import torch
        def _h(x):
            return torch.sigmoid(x)
        def f(x):
            _h = lambda y: y * 2
            return _h(x)
        """,
    "argument_shadows_helper": """
        import torch
        def _h(x):
            return torch.sigmoid(x)
        def f(x, _h=abs):
            return _h(x)
        """,
    "loop_variable_shadows_helper": """
        import torch
        def _h(x):
            return torch.sigmoid(x)
        def f(xs):
            return [_h + 1 for _h in xs]
        """,
    "banned_name_in_a_string_or_comment": """
        def f(x):
            note = "do not use torch.softmax or F.softmax here"  # torch.sigmoid
            return x
        """,
    "own_function_named_softmax": """
        import torch
        def softmax(x, dim=-1):
            e = torch.exp(x - x.amax(dim, keepdim=True))
            return e / e.sum(dim, keepdim=True)
        def f(x):
            return softmax(x, 0)
        """,
    "functional_imported_but_unused": """
        import torch.nn.functional as F
        def f(x):
            return x * 2
        """,
    "similar_prefix_names": """
        import torch
        def f(x):
            return torch.softmax_stable_by_hand if False else torch.sigmoid_like(x) if False else torch.logsumexp(x, 0)
        """,
    "unrelated_module_attribute": """
        import math
        def f(x):
            return math.exp(x)
        """,
}


@pytest.mark.parametrize("source", list(CLEAN.values()), ids=list(CLEAN))
def test_allowed_code_has_no_hits(source):
    assert _hits(source) == []


def test_hit_in_one_function_does_not_leak_into_others():
    src = """
        import torch
        def bad(x):
            return torch.softmax(x, -1)
        def f(x):
            return x.exp()
        """
    assert _hits(src, "f") == []
    assert _hits(src, "bad") == [("torch.softmax", 4)]


def test_module_level_imports_of_banned_functions_are_reported_but_not_charged_to_functions():
    hits, calls = scan("from sklearn.metrics import f1_score\nimport sklearn\n\ndef f(x):\n    return x\n", BANNED)
    assert {(h.name, h.function) for h in hits} == {("sklearn.metrics.f1_score", None), ("sklearn", None)}
    assert hits_for("f", hits, calls) == []


def test_no_banned_list_and_syntax_errors_give_nothing():
    assert scan("import torch\ntorch.softmax(1)\n", ()) == ([], {})
    assert scan("def f(:\n", BANNED) == ([], {})
