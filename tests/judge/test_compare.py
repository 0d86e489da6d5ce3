"""grader.judge.compare: every check, and what each failure message tells the student."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grader.judge.compare import compare, describe_value, matches
from grader.spec import Tolerance
from grader.sandbox.wire import Array, roundtrip

TOL = Tolerance(rtol=1e-4, atol=1e-5)


def A(x, dtype=None) -> Array:
    """A decoded tensor, as the grader sees a student's output."""
    t = torch.as_tensor(x) if dtype is None else torch.as_tensor(x, dtype=dtype)
    return roundtrip(t)


E = A(torch.arange(12.0).reshape(3, 4))


def _one(expected, got, **kw):
    ms = compare(expected, got, tol=kw.pop("tol", TOL), **kw)
    assert len(ms) == 1, [m.message for m in ms]
    return ms[0]


def test_identical_outputs_have_no_mismatch():
    value = (E, {"W": A([1.0, 2.0]), "n": A([1, 2])}, None)
    assert compare(value, value, tol=TOL) == []
    assert matches(value, value, tol=TOL)


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize("expected, got, words", [
    pytest.param(E, (E,), ["expected a tensor float32 (3, 4)", "tuple of 1"], id="tensor_vs_tuple"),
    pytest.param(E, None, ["expected a tensor", "got None"], id="tensor_vs_None"),
    pytest.param((E, E), E, ["expected a tuple of 2 values", "tensor float32 (3, 4)"], id="tuple_vs_tensor"),
    pytest.param((E, E), (E, E, E), ["expected a tuple of 2 values", "tuple of 3"], id="tuple_length"),
    pytest.param(None, E, ["expected None", "tensor float32"], id="None_vs_tensor"),
    pytest.param({"a": E}, E, ["expected a dict with keys ['a']"], id="dict_vs_tensor"),
    pytest.param({"a": E, "b": E}, {"a": E, "c": E}, ["missing ['b']", "unexpected ['c']"], id="dict_keys"),
    pytest.param(A(2.0), 2.0, ["0-d tensor", "instead of a Python number"], id="python_float_for_0d"),
    pytest.param(E, roundtrip(np.zeros((3, 4), np.float32)), ["numpy array", "do not convert to numpy"],
                 id="numpy_for_tensor"),
])
def test_structure_mismatch(expected, got, words):
    m = _one(expected, got)
    assert m.kind == "structure"
    for w in words:
        assert w in m.message, m.message


def test_mismatch_path_names_the_leaf():
    exp = (E, {"W1": A([1.0, 2.0]), "W2": A([3.0, 4.0])})
    got = (E, {"W1": A([1.0, 2.0]), "W2": A([3.0, 5.0])})
    m = _one(exp, got)
    assert m.path == "output[1]['W2']"
    assert m.message.startswith("output[1]['W2']: ")


# --------------------------------------------------------------------------- shape, dtype, device


@pytest.mark.parametrize("expected, got, shape_words, hint", [
    pytest.param(E, A(torch.zeros(4, 3)), "expected shape (3, 4), got (4, 3)", "transposed", id="transposed"),
    pytest.param(E, A(torch.zeros(3, 4, 1)), "expected shape (3, 4), got (3, 4, 1)", "keepdim=True",
                 id="kept_dim"),
    pytest.param(A(torch.zeros(3, 1)), A(torch.zeros(3)), "expected shape (3, 1), got (3,)", "keepdim=True",
                 id="missing_dim"),
    pytest.param(E, A(torch.zeros(3)), "expected shape (3, 4), got (3,)", None, id="plain"),
])
def test_shape_mismatch_with_hint(expected, got, shape_words, hint):
    m = _one(expected, got)
    assert m.kind == "shape"
    assert shape_words in m.message
    if hint:
        assert hint in m.message
    else:
        assert "transposed" not in m.message and "keepdim" not in m.message


def test_square_transpose_is_a_value_mismatch_not_a_shape_one():
    e = A(torch.arange(9.0).reshape(3, 3))
    m = _one(e, A(torch.arange(9.0).reshape(3, 3).t()))
    assert m.kind == "values"


def test_dtype_mismatch_says_keep_the_input_dtype_and_still_checks_values():
    ms = compare(E, A(torch.arange(12.0, dtype=torch.float64).reshape(3, 4) * 2), tol=TOL)
    kinds = [m.kind for m in ms]
    assert kinds == ["dtype", "values"]
    assert "expected dtype float32, got float64" in ms[0].message
    assert "Keep the input's dtype" in ms[0].message


def test_dtype_ignored_when_not_checked():
    assert compare(E, A(torch.arange(12.0, dtype=torch.float64).reshape(3, 4)), tol=TOL, check_dtype=False) == []


def test_device_mismatch():
    on_cuda = Array(E.data, "float32", device="cuda")
    m = _one(E, on_cuda, check_device="cpu")
    assert m.kind == "device"
    assert "expected the tensor on cpu" in m.message and "got it on cuda" in m.message
    assert "device=x.device" in m.message
    assert compare(E, on_cuda, tol=TOL) == []  # device unchecked by default


# --------------------------------------------------------------------------- non-finite


@pytest.mark.parametrize("bad, word", [(float("nan"), "got NaN"), (float("inf"), "got inf"),
                                       (-float("inf"), "got -inf")])
def test_nonfinite_where_finite_expected(bad, word):
    g = torch.arange(12.0).reshape(3, 4)
    g[1, 2] = bad
    g[2, 0] = bad
    m = _one(E, A(g))
    assert m.kind == "nonfinite"
    assert "2 of 12 elements are NaN or Inf where finite values were expected" in m.message
    assert "first at [1, 2]" in m.message and word in m.message
    assert m.n_differ == 2 and m.n_total == 12
    assert "nan" in m.got_excerpt or "inf" in m.got_excerpt


def test_nan_matches_nan_when_nan_is_expected():
    e = A([float("nan"), 1.0, float("inf"), -float("inf")])
    assert compare(e, A([float("nan"), 1.0, float("inf"), -float("inf")]), tol=TOL) == []


@pytest.mark.parametrize("got", [[2.0, 1.0], [float("inf"), 1.0]], ids=["finite_for_nan", "inf_for_nan"])
def test_finite_where_nan_expected_fails(got):
    m = _one(A([float("nan"), 1.0]), A(got))
    assert m.kind == "values" and m.n_differ == 1


def test_wrong_sign_infinity_fails():
    m = _one(A([float("inf"), 1.0]), A([-float("inf"), 1.0]))
    assert m.kind == "values" and m.max_abs_index == (0,)


# --------------------------------------------------------------------------- values


def test_value_message_has_count_worst_errors_indices_and_tolerance():
    e = A([[1000.0, 0.001, 5.0, 7.0], [1.0, 2.0, 3.0, 4.0]], torch.float64)
    g = A([[1001.0, 0.002, 5.0, 7.0], [1.0, 2.0, 3.0, 4.0]], torch.float64)
    tol = Tolerance(rtol=1e-7, atol=1e-10)
    m = _one(e, g, tol=tol)
    assert m.kind == "values"
    assert (m.n_differ, m.n_total) == (2, 8)
    assert "2 of 8 elements differ (25%)" in m.message
    assert m.max_abs == pytest.approx(1.0) and m.max_abs_index == (0, 0)
    assert "Worst absolute error 1 at [0, 0] (expected 1000, got 1001)" in m.message
    assert m.max_rel == pytest.approx(1.0) and m.max_rel_index == (0, 1)
    assert "worst relative error 1 at [0, 1]" in m.message
    assert "rtol=1e-07, atol=1e-10 (float64)" in m.message
    assert "|got - expected| <= atol + rtol * max(|expected|, largest |expected| in its row)" in m.message
    assert m.expected_excerpt.startswith("[0, 0:4] = ") and "1.e+03" in m.expected_excerpt
    assert "1.001e+03" in m.got_excerpt


def test_long_rows_get_an_excerpt_around_the_worst_element():
    e = torch.arange(100.0).reshape(2, 50)
    g = e.clone()
    g[1, 40] += 3.0
    m = _one(A(e), A(g))
    assert m.max_abs_index == (1, 40)
    assert m.expected_excerpt.startswith("[1, 37:43] = ")
    assert "90." in m.expected_excerpt and "93." in m.got_excerpt


def test_zero_d_value_message():
    m = _one(A(2.0), A(2.5))
    assert "expected 2, got 2.5" in m.message
    assert "absolute error 0.5" in m.message and "relative error 0.25" in m.message


def test_within_tolerance_passes_and_just_outside_fails():
    e = A([100.0], torch.float64)
    allowed = TOL.atol + TOL.rtol * 100.0
    assert compare(e, A([100.0 + 0.9 * allowed], torch.float64), tol=TOL) == []
    assert _one(e, A([100.0 + 1.1 * allowed], torch.float64)).kind == "values"


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_integers_and_bools_must_match_exactly(dtype):
    e = A(torch.tensor([1, 0, 1, 1]).to(dtype))
    assert compare(e, e, tol=Tolerance(1.0, 1.0)) == []
    g = A(torch.tensor([1, 1, 1, 1]).to(dtype))
    m = _one(e, g, tol=Tolerance(rtol=1.0, atol=1.0))  # tolerance does not apply to integers
    assert m.kind == "values"
    assert "1 of 4 elements differ" in m.message and "first at [1]" in m.message
    assert "integers must match exactly" in m.message


def test_integer_message_shows_plain_numbers():
    m = _one(A(torch.tensor([1, 2, 3])), A(torch.tensor([1, 2, 4])))
    assert "expected 3, got 4" in m.message


def test_python_scalars():
    assert compare(3, 3, tol=TOL) == []
    assert _one(3, 4).message == "output: expected 3, got 4."
    assert compare(1.0, 1.0 + 1e-9, tol=TOL) == []
    assert _one(1.0, "1.0").kind == "structure"


def test_describe_value():
    assert describe_value(E) == "tensor float32 (3, 4) on cpu"
    assert describe_value(A([1.0])) == "tensor float32 (1,) on cpu"
    assert describe_value(None) == "None"
    assert describe_value({"b": 1, "a": 2}) == "dict with keys ['a', 'b']"


# --------------------------------------------------------------------------- containers by structure


def test_namedtuple_and_ordereddict_are_accepted_and_named():
    from collections import OrderedDict, namedtuple

    State = namedtuple("LSTMState", "h c")
    exp = roundtrip((torch.ones(2), {"W": torch.zeros(2), "b": torch.ones(1)}))
    got = roundtrip(State(torch.ones(2), OrderedDict(W=torch.zeros(2), b=torch.ones(1))))
    assert compare(exp, got, tol=TOL) == []
    bad = roundtrip(State(torch.ones(2), OrderedDict(W=torch.zeros(2))))
    m = _one(exp, bad)
    assert m.path == "output[1]" and "missing ['b']" in m.message and "your OrderedDict has ['W']" in m.message
    m = _one(roundtrip((torch.ones(2),) * 3), roundtrip(State(torch.ones(2), torch.ones(2))))
    assert "expected a tuple of 3 values, got tuple of 2 (LSTMState)" in m.message
    assert describe_value(roundtrip(OrderedDict(W=torch.zeros(1)))) == "dict with keys ['W'] (OrderedDict)"


def test_lists_are_called_lists():
    m = _one(roundtrip([torch.ones(1)] * 2), roundtrip([torch.ones(1)]))
    assert "expected a list of 2 values, got list of 1" in m.message


# --------------------------------------------------------------------------- lists of strings


def test_a_vocabulary_names_the_first_wrong_word():
    vocab = ["a", "b", "cat", "d"]
    m = _one(vocab, ["a", "b", "cats", "d"])
    assert m.kind == "values"
    assert m.message.startswith("output[2]: expected 'cat', got 'cats'")
    assert "missing 'cat'" in m.message and "unexpected 'cats'" in m.message


def test_missing_and_extra_tokens_are_listed():
    m = _one(["a", "b", "c", "d"], ["a", "c", "d", "e", "f"])
    assert "expected a list of 4 strings, got 5" in m.message
    assert "missing 'b'" in m.message and "unexpected 'e', 'f'" in m.message
    m = _one(["a", "b", "c"], ["b", "a", "c"])
    assert "the same strings in a different order (the expected order is sorted)" in m.message


def test_nested_token_lists_name_the_document():
    docs = [["the", "cat"], ["a", "dog", "ran"]]
    m = _one(docs, [["the", "cat"], ["a", "dogs", "ran"]])
    assert m.path == "output[1]" and m.message.startswith("output[1][1]: expected 'dog', got 'dogs'")
    assert compare(docs, [list(d) for d in docs], tol=TOL) == []


# --------------------------------------------------------------------------- tolerances and the scale-aware rule


def test_default_tolerances_are_no_stricter_than_assert_close():
    from torch.testing._comparison import default_tolerances

    from grader.spec import DEFAULT_TOLERANCES

    for name, tol in DEFAULT_TOLERANCES.items():
        rtol, atol = default_tolerances(getattr(torch, name))
        assert tol.rtol >= rtol and tol.atol >= atol, (name, tol, rtol, atol)


def _ce_grad(logits, y, eps=0.0):
    e = torch.exp(logits - logits.amax(1, keepdim=True))
    p = e / (e.sum(1, keepdim=True) + eps)
    p[torch.arange(len(y)), y] -= 1
    return p / len(y)


def _confident_batch():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 6, dtype=torch.float64, generator=g) * 3
    y = torch.randint(0, 6, (5,), generator=g)
    logits[0, y[0]] += 40.0  # row 0: the target's probability is 1 - 1e-17, its gradient ~0
    return logits, y


def test_an_epsilon_in_the_softmax_passes_with_a_note():
    from grader.judge.compare import scale_note
    from grader.spec import DEFAULT_TOLERANCES

    logits, y = _confident_batch()
    exp, got = A(_ce_grad(logits, y)), A(_ce_grad(logits, y, eps=1e-8))
    assert compare(exp, got, tol=Tolerance(rtol=1e-7, atol=1e-10))  # the old float64 default failed it
    tol = DEFAULT_TOLERANCES["float64"]
    assert compare(exp, got, tol=tol) == []
    note = scale_note(exp, got, tol=tol)
    assert note.startswith("within tolerance; your values differ by up to 2e-09 where the expected value is close to 0")
    assert "an epsilon in a denominator" in note


def test_rounding_and_float32_get_no_note():
    from grader.judge.compare import scale_note
    from grader.spec import DEFAULT_TOLERANCES

    logits, y = _confident_batch()
    reordered = A(_ce_grad(logits.flip(1), y.new_tensor(5) - y).flip(1))  # another summation order
    assert scale_note(A(_ce_grad(logits, y)), reordered, tol=DEFAULT_TOLERANCES["float64"]) is None
    e32, g32 = A(_ce_grad(logits, y).float()), A(_ce_grad(logits.float(), y, eps=1e-6))
    assert compare(e32, g32, tol=DEFAULT_TOLERANCES["float32"]) == []
    assert scale_note(e32, g32, tol=DEFAULT_TOLERANCES["float32"]) is None


def test_an_element_is_judged_at_its_rows_scale_not_its_neighbours_rows():
    tol = Tolerance(rtol=1e-4, atol=0.0)
    e = torch.tensor([[1000.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    assert compare(A(e), A(e + torch.tensor([[0.0, 0.09], [0.0, 0.0]], dtype=torch.float64)), tol=tol) == []
    m = _one(A(e), A(e + torch.tensor([[0.0, 0.0], [0.0, 0.09]], dtype=torch.float64)), tol=tol)
    assert m.n_differ == 1 and m.max_abs_index == (1, 1)
    assert "max(|expected|, largest |expected| in its row)" in m.message


def test_a_wrong_formula_still_fails_where_it_is_wrong():
    logits, y = _confident_batch()
    tol = Tolerance(rtol=1e-7, atol=1e-7)
    wrong = _ce_grad(logits, y) * len(y)  # not divided by N
    m = _one(A(_ce_grad(logits, y)), A(wrong), tol=tol)
    assert m.n_differ >= 20


def test_the_scale_rule_lets_no_known_mistake_pass_a_case_it_failed():
    """Over the seven assignments, every mistake variant fails every case it failed under the plain rule
    |got - expected| <= atol + rtol * |expected| (same tolerances)."""
    from pathlib import Path

    import grader.judge.compare as C
    from grader.catalog.project import load_catalog
    from grader.judge.diagnose import variant_outputs

    catalog = load_catalog(Path(__file__).resolve().parents[2] / "reference")
    plain = lambda ev: np.where(np.isfinite(ev), np.abs(ev), 0.0)  # noqa: E731
    scaled = C.row_scale
    lost, pairs = [], 0
    for aid in ("activations", "cross_entropy", "backprop", "batchnorm", "lstm", "attention", "metrics"):
        a = catalog.get(aid)
        for f in a.functions:
            for inst in catalog.instances(a, f, include_hidden=True):
                tol = a.tolerance_for(f, inst.case, inst.dtype)
                for mid, v in variant_outputs(f, inst.call).items():
                    pairs += 1
                    try:
                        C.row_scale = plain
                        before = bool(compare(inst.expected, v, tol=tol, check_dtype=False))
                    finally:
                        C.row_scale = scaled
                    if before and not compare(inst.expected, v, tol=tol, check_dtype=False):
                        lost.append(f"{aid}.{f.name} {inst.key} {mid}")
    assert pairs > 500 and not lost, lost
