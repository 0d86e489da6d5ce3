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
    "method_on_torch_result": ("""
        import torch
        def f(x):
            return torch.exp(x).softmax(-1)
        """, ("torch.Tensor.softmax", 4)),
    "method_on_annotated_tensor": ("""
        import torch
        def f(x: torch.Tensor):
            return x.softmax(-1)
        """, ("torch.Tensor.softmax", 4)),
    "method_on_expression_of_a_tensor": ("""
        from torch import Tensor
        def f(x: Tensor):
            return (x * 2).sigmoid()
        """, ("torch.Tensor.sigmoid", 4)),
    "method_by_getattr_on_a_tensor": ("""
        import torch
        def f(x):
            t = torch.as_tensor(x)
            return getattr(t, "soft" + "max")(-1)
        """, ("torch.Tensor.softmax", 5)),
    "method_reference_not_called": ("""
        import torch
        def f(x):
            g = torch.zeros_like(x).add(x).sigmoid
            return g()
        """, ("torch.Tensor.sigmoid", 4)),
    "backward_on_a_tensor_expression": ("""
        import torch
        def f(x: torch.Tensor):
            loss = (x * x).sum()
            loss.backward()
            return x.grad
        """, ("torch.Tensor.backward", 5)),
    "qualified_tensor_method": ("""
        import torch
        def f(x):
            return torch.Tensor.softmax(x, -1)
        """, ("torch.Tensor.softmax", 4)),
    "function_level_import_used_in_that_function": ("""
        def f(x, y):
            from torch.autograd import grad
            return grad(y, x)
        """, ("torch.autograd.grad", 3)),
    "global_declaration_uses_the_module_alias": ("""
        from torch import sigmoid as act
        def f(x):
            global act
            return act(x)
        """, ("torch.sigmoid", 5)),
    "autograd_no_grad_is_not_a_pass_for_grad": ("""
        import torch
        def f(x):
            with torch.no_grad():
                pass
            return torch.autograd.grad(x.sum(), x)
        """, ("torch.autograd.grad", 6)),
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
    # issue 8, 1: layer objects with their own backward (EECS 498, deep-learning-from-scratch styles)
    "layer_object_backward": """
        import torch
        class Linear:
            def forward(self, x, W, b):
                return x @ W + b, (x, W)
            def backward(self, dout, cache):
                x, W = cache
                return dout @ W.T, x.T @ dout, dout.sum(0)
        def f(dout, x, W):
            layer = Linear()
            out, cache = layer.forward(x, W, 0)
            return layer.backward(dout, cache)
        """,
    "layers_in_a_list_backward": """
        def f(dout, layers):
            for layer in reversed(layers):
                dout = layer.backward(dout)
            return dout
        """,
    "super_backward_and_self_softmax": """
        class Base:
            def backward(self, d):
                return d
        class Act(Base):
            def softmax(self, x):
                return x
            def backward(self, d):
                return super().backward(d) * self.softmax(d)
        def f(d):
            return Act().backward(d)
        """,
    "attribute_of_an_object_named_like_a_method": """
        def f(model, z):
            return model.sigmoid(z) + model.layers[0].softmax(z)
        """,
    "method_on_unknown_value": """
        def f(x):
            return x.softmax(-1)
        """,
    # issue 8, 2: aliases are scope-aware
    "local_variable_named_like_an_import_elsewhere": """
        import torch
        def g(y, x):
            from torch.autograd import grad
            return grad(y, x)
        def f(x):
            grad = x * 2
            return grad + 1
        """,
    "parameter_named_like_a_module_alias": """
        import torch.nn.functional as F
        def f(x, F=None):
            return F.softmax(x) if F is not None else x
        """,
    "loop_variable_named_like_an_alias": """
        from torch import sigmoid
        def f(xs):
            return [sigmoid + 1 for sigmoid in xs]
        """,
    "name_rebound_to_own_function": """
        from torch import sigmoid
        def sigmoid(x):
            return 1 / (1 + (-x).exp())
        def f(x):
            return sigmoid(x)
        """,
    "class_body_alias_not_visible_in_methods": """
        class K:
            import torch.nn.functional as F
            def run(self, x):
                return F.softmax(x)  # NameError at run time: class names are not visible here
        def f(x):
            return K().run(x)
        """,
    # issue 8, 3: contexts that compute no gradient
    "no_grad_and_inference_mode": """
        import torch
        from torch.autograd import no_grad, Variable
        def f(x):
            with torch.no_grad():
                y = x * 2
            with torch.inference_mode():
                y = y + 1
            with torch.autograd.no_grad(), torch.enable_grad(), torch.set_grad_enabled(False):
                y = y - 1
            with no_grad():
                pass
            with torch.autograd.grad_mode.inference_mode(True):
                pass
            return Variable(y)
        """,
    "no_grad_decorator": """
        import torch
        @torch.no_grad()
        def f(x):
            return x * 2
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


def test_module_level_alias_is_charged_to_the_name_and_its_users():
    src = """
        import torch
        softmax = torch.softmax
        _F = getattr(torch, "xamtfos"[::-1])
        def f(x):
            return _F(x, -1)
        """
    assert _hits(src, "softmax") == [("torch.softmax", 3)]
    assert set(_hits(src, "f")) == {("torch.softmax", 4), ("torch.softmax", 6)}


def test_unsure_method_calls_are_left_to_the_run_time_guard():
    """A Tensor-method name on a value the scan cannot type is not a static hit; the guard
    (tests/sandbox/test_guard.py, tests/sandbox/test_sandbox.py) records it if it really is the Tensor method."""
    src = "def f(x):\n    return x.softmax(-1) + x.sigmoid()\n"
    assert scan(src, BANNED)[0] == []


def test_the_scope_of_a_function_level_import_ends_with_the_function():
    src = """
        def g(y, x):
            from torch.autograd import grad
            return grad(y, x)
        def f(x):
            return grad(x)
        """
    assert _hits(src, "g") == [("torch.autograd.grad", 3), ("torch.autograd.grad", 4)]
    assert _hits(src, "f") == []


def test_no_banned_list_and_syntax_errors_give_nothing():
    assert scan("import torch\ntorch.softmax(1)\n", ()) == ([], {})
    assert scan("def f(:\n", BANNED) == ([], {})


# --------------------------------------------------------------------------- the contract's banned lists

@pytest.mark.parametrize("assignment, source, name", [
    ("activations", "from scipy.special import expit", "scipy.special.expit"),
    ("activations", "import torch\ndef f(x):\n    return torch.log_softmax(x, -1)", "torch.log_softmax"),
    ("activations", "import torch\ndef f(x):\n    return torch._C._nn.elu(x)", "torch._C._nn.elu"),
    ("cross_entropy", "import torch\ndef f(x):\n    return torch.logcumsumexp(x, 0)", "torch.logcumsumexp"),
    ("cross_entropy", "from sklearn.metrics import log_loss", "sklearn.metrics.log_loss"),
    ("batchnorm", "import torch\ndef f(x):\n    return torch.layer_norm(x, (3,))", "torch.layer_norm"),
    ("layernorm", "from sklearn.preprocessing import scale", "sklearn.preprocessing.scale"),
    ("layers", "from scipy.signal import correlate2d", "scipy.signal.correlate2d"),
    ("lstm", "from torch.ao.nn.quantizable import LSTM", "torch.ao.nn.quantizable.LSTM"),
    ("attention", "from torch.ao.nn.quantizable import MultiheadAttention",
     "torch.ao.nn.quantizable.MultiheadAttention"),
    ("metrics", "from torcheval.metrics.functional import multiclass_f1_score",
     "torcheval.metrics.functional.multiclass_f1_score"),
    ("optimizers", "import optax", "optax"),
    ("backprop", "from jax import grad", "jax.grad"),
])
def test_contract_bans_other_libraries_versions(assignment, source, name, catalog):
    a = catalog.get(assignment)
    hits, _ = scan(source + "\n", a.banned)
    assert name in [h.name for h in hits]
