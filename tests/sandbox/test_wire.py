"""grader.sandbox.wire: the pickle-free frame format between the student's process and the grader."""

from __future__ import annotations

import ast
import collections.abc
import inspect
import json
import math

import numpy as np
import pytest
import torch

from grader.sandbox import wire
from grader.sandbox.wire import Array, Opaque, WireError


def _frame(value_node, payload: bytes = b"", meta=None) -> bytes:
    """A hand-built frame holding the JSON value tree ``value_node``."""
    header = json.dumps({"meta": meta or {}, "value": value_node}).encode()
    return wire._HEAD.pack(wire.MAGIC, len(header), len(payload)) + header + payload


def _raw(header: bytes, payload: bytes = b"", magic: bytes = wire.MAGIC) -> bytes:
    return wire._HEAD.pack(magic, len(header), len(payload)) + header + payload


# --------------------------------------------------------------------------- roundtrip


def test_nested_structure_roundtrip():
    value = (1, -2**70, 2.5, float("inf"), "héllo", None, True, [3, (None, {"a": 1.0, 2: False})],
             {"x": (), "y": []})
    meta, got = wire.decode_bytes(wire.encode(value, {"event": "result", "i": 3}))
    assert meta == {"event": "result", "i": 3}
    assert got == value
    assert type(got[7]) is list and type(got[7][1]) is tuple
    assert type(got[6]) is bool and type(got[0]) is int


def test_float_nan_roundtrips_as_nan():
    got = wire.roundtrip((float("nan"), -0.0))
    assert math.isnan(got[0])
    assert math.copysign(1.0, got[1]) == -1.0


@pytest.mark.parametrize("make", [
    pytest.param(lambda: torch.tensor(3.25, dtype=torch.float32), id="0d_float32"),
    pytest.param(lambda: torch.tensor(-7, dtype=torch.int64), id="0d_int64"),
    pytest.param(lambda: torch.arange(12, dtype=torch.float64).reshape(3, 4).t(), id="transposed_noncontig"),
    pytest.param(lambda: torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)[:, ::2, 1:3], id="strided_slice"),
    pytest.param(lambda: torch.arange(5.0).expand(3, 5), id="expanded_stride0"),
    pytest.param(lambda: torch.tensor([True, False, True]), id="bool"),
    pytest.param(lambda: torch.tensor([2**40, -2**62, 0], dtype=torch.int64), id="int64_large"),
    pytest.param(lambda: torch.tensor([1, 2], dtype=torch.int32), id="int32"),
    pytest.param(lambda: torch.tensor([0.1, -2.0], dtype=torch.float16), id="float16"),
    pytest.param(lambda: torch.empty((0, 3)), id="empty"),
    pytest.param(lambda: torch.tensor([float("nan"), float("inf"), -float("inf"), -0.0]), id="nonfinite"),
])
def test_tensor_roundtrip_exact(make):
    t = make()
    got = wire.roundtrip(t)
    assert isinstance(got, Array)
    assert got.kind == "tensor" and got.cls == "Tensor" and got.device == "cpu"
    assert got.dtype == str(t.dtype).removeprefix("torch.")
    assert got.shape == tuple(t.shape)
    expected = t.contiguous().numpy()
    assert got.data.dtype == expected.dtype
    np.testing.assert_array_equal(got.data, expected)  # NaN == NaN here
    if expected.dtype.kind == "f":
        assert np.array_equal(np.signbit(got.data), np.signbit(expected))  # -0.0 stays -0.0
    assert not got.data.flags.writeable


def test_tensor_requires_grad_and_views_are_detached_numbers():
    x = torch.arange(6.0, requires_grad=True)
    got = wire.roundtrip((x * 2).reshape(2, 3))
    np.testing.assert_array_equal(got.data, np.arange(6.0).reshape(2, 3) * 2)


def test_bfloat16_arrives_as_float32():
    got = wire.roundtrip(torch.tensor([1.5, -2.0], dtype=torch.bfloat16))
    assert got.dtype == "float32"
    np.testing.assert_array_equal(got.data, [1.5, -2.0])


def test_numpy_array_kind_is_kept():
    got = wire.roundtrip(np.arange(4, dtype=np.float32))
    assert got.kind == "ndarray" and got.dtype == "float32"
    np.testing.assert_array_equal(got.data, [0, 1, 2, 3])


def test_unencodable_object_is_opaque_not_code():
    class Weird:
        def __repr__(self):  # a student's __repr__ must not run in the grader (nor here)
            raise AssertionError("__repr__ was called")

    got = wire.roundtrip({"w": Weird()})
    assert isinstance(got["w"], Opaque) and got["w"].type == "Weird"


# --------------------------------------------------------------------------- lying subclasses


class _Liar(torch.Tensor):
    """Claims to be zeros through every route a naive encoder might use."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        out = super().__torch_function__(func, types, args, kwargs or {})
        if isinstance(out, torch.Tensor) and out.dtype.is_floating_point:
            with torch._C.DisableTorchFunctionSubclass():
                return torch.zeros(out.shape, dtype=out.dtype)
        return out

    def numpy(self, *a, **k):
        return np.zeros(tuple(self.shape), dtype=np.float32)

    def tolist(self):
        return [0.0] * len(self)

    def cpu(self, *a, **k):
        return torch.zeros(3)

    def detach(self):
        return torch.zeros(3)

    def contiguous(self, *a, **k):
        return torch.zeros(3)

    def __array__(self, *a, **k):
        return np.zeros(3, dtype=np.float32)


def test_tensor_subclass_that_lies_arrives_as_its_true_numbers():
    x = torch.tensor([1.0, 2.0, 3.0]).as_subclass(_Liar)
    # The lies are real: the naive routes all report zeros.
    assert x.numpy().tolist() == [0.0, 0.0, 0.0]
    assert x.tolist() == [0.0, 0.0, 0.0]
    assert float(torch.Tensor.sum(x + 0)) == 0.0
    got = wire.roundtrip((x, {"y": x}))
    for arr in (got[0], got[1]["y"]):
        assert isinstance(arr, Array)
        assert arr.cls == "_Liar"  # class name kept for the report only
        np.testing.assert_array_equal(arr.data, [1.0, 2.0, 3.0])


def test_decoded_values_are_plain_numbers_not_student_classes():
    x = torch.tensor([4.0]).as_subclass(_Liar)
    got = wire.roundtrip(x)
    assert type(got) is Array and type(got.data) is np.ndarray


class _Lazy(torch.Tensor):
    """A wrapper subclass: reading it at all, even through the base class, would run its Python code
    (outside the guard, in the student's process)."""

    ran: list = []

    @staticmethod
    def __new__(cls, x):
        return torch.Tensor._make_wrapper_subclass(cls, x.shape, dtype=x.dtype)

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        cls.ran.append(str(func))
        return torch.ones(3)


class _Impostor:
    """Reports another class and mapping items: neither may run."""

    @property
    def __class__(self):
        raise AssertionError("the encoder asked the object for its __class__")


class _Items(collections.abc.Mapping):
    def __getitem__(self, k):
        raise AssertionError("the encoder read a Mapping through its own code")

    def __iter__(self):
        raise AssertionError("the encoder read a Mapping through its own code")

    def __len__(self):
        raise AssertionError("the encoder read a Mapping through its own code")


def test_encoding_an_output_runs_none_of_its_code():
    _Lazy.ran.clear()
    got = wire.roundtrip((_Lazy(torch.zeros(3)), _Impostor(), _Items()))
    assert _Lazy.ran == []
    assert isinstance(got[0], Opaque) and "__torch_dispatch__" in got[0].repr
    assert isinstance(got[1], Opaque) and got[1].type == "_Impostor"
    assert isinstance(got[2], Opaque) and got[2].type == "_Items"


# --------------------------------------------------------------------------- malformed frames

_GOOD = wire.encode((torch.arange(10.0), {"k": [1, 2]}), {"event": "result"})


@pytest.mark.parametrize("cut", [3, wire._HEAD.size - 1, wire._HEAD.size, wire._HEAD.size + 5, len(_GOOD) - 1])
def test_truncated_frame_raises_wireerror(cut):
    with pytest.raises(WireError):
        wire.decode_bytes(_GOOD[:cut])


def test_empty_stream_is_eof_not_garbage():
    with pytest.raises(EOFError):
        wire.decode_bytes(b"")


@pytest.mark.parametrize("frame", [
    pytest.param(_raw(b'{"meta":{},"value":{"t":"none"}}', magic=b"PKL\x80"), id="bad_magic"),
    pytest.param(wire._HEAD.pack(wire.MAGIC, wire.MAX_HEADER + 1, 0), id="header_too_large"),
    pytest.param(wire._HEAD.pack(wire.MAGIC, 2, wire.MAX_PAYLOAD + 1) + b"{}", id="payload_too_large"),
    pytest.param(_raw(b"{not json"), id="header_not_json"),
    pytest.param(_raw(b"\xff\xfe\x00"), id="header_not_utf8"),
    pytest.param(_raw(b"[1, 2]"), id="header_not_object"),
    pytest.param(_raw(b'{"meta": [], "value": {"t": "none"}}'), id="meta_not_object"),
    pytest.param(_frame(["t", "none"]), id="node_not_object"),
    pytest.param(_frame({"t": "pickle", "v": "gASV"}), id="unknown_node_type"),
    pytest.param(_frame({"t": "int", "v": "9" * 5000}), id="int_too_long"),
    pytest.param(_frame({"t": "tuple", "items": {"a": 1}}), id="items_not_list"),
    pytest.param(_frame({"t": "arr", "dtype": "object", "shape": [1], "off": 0, "n": 8}, b"\0" * 8),
                 id="object_dtype"),
    pytest.param(_frame({"t": "arr", "dtype": "float32", "shape": [-1], "off": 0, "n": 4}, b"\0" * 4),
                 id="negative_dim"),
    pytest.param(_frame({"t": "arr", "dtype": "float32", "shape": [3], "off": 0, "n": 12}, b"\0" * 8),
                 id="array_past_payload"),
    pytest.param(_frame({"t": "arr", "dtype": "float32", "shape": [3], "off": 0, "n": 8}, b"\0" * 12),
                 id="nbytes_mismatch_shape"),
    pytest.param(_frame({"t": "arr", "dtype": "float32", "shape": [1], "off": -4, "n": 4}, b"\0" * 8),
                 id="negative_offset"),
    pytest.param(_frame({"t": "dict", "items": [[{"t": "list", "items": []}, {"t": "none"}]]}),
                 id="unhashable_dict_key"),
])
def test_malformed_frame_raises_wireerror(frame):
    with pytest.raises(WireError):
        wire.decode_bytes(frame)


def test_too_deep_value_tree_raises_wireerror():
    node = {"t": "none"}
    for _ in range(wire.MAX_DEPTH + 5):
        node = {"t": "tuple", "items": [node]}
    with pytest.raises(WireError):
        wire.decode_bytes(_frame(node))


_KNOWN_BUG = ("grader/wire.py::_node indexes node fields directly (n['v'], n['shape'], int(...), pair unpack), so "
              "a malformed node raises KeyError/TypeError/ValueError instead of WireError; grader/sandbox.py only "
              "catches WireError, so a crafted result frame would crash the grading job")


@pytest.mark.parametrize("node", [
    pytest.param({"t": "arr", "dtype": "float32", "off": 0, "n": 4}, id="arr_missing_shape"),
    pytest.param({"t": "arr", "dtype": "float32", "shape": None, "off": 0, "n": 4}, id="arr_shape_null"),
    pytest.param({"t": "arr", "dtype": "float32", "shape": [1], "off": "x", "n": 4}, id="arr_offset_not_int"),
    pytest.param({"t": "bool"}, id="bool_missing_v"),
    pytest.param({"t": "int", "v": "12x"}, id="int_not_decimal"),
    pytest.param({"t": "float", "v": "abc"}, id="float_not_number"),
    pytest.param({"t": "dict", "items": [[{"t": "none"}, {"t": "none"}, {"t": "none"}]]}, id="dict_pair_of_3"),
    pytest.param({"t": "dict", "items": 5}, id="dict_items_not_list"),
])
def test_malformed_node_fields_raise_wireerror(node):
    with pytest.raises(WireError):
        wire.decode_bytes(_frame(node, b"\0" * 4))


# --------------------------------------------------------------------------- no pickle


def test_wire_module_never_uses_pickle():
    src = inspect.getsource(wire)
    tree = ast.parse(src)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "copyreg"}, imported
    # numpy's own unpickling paths stay off: allow_pickle is never requested.
    assert "allow_pickle" not in src
    assert "np.load(" not in src and "torch.load(" not in src and "eval(" not in src


def test_pickle_bytes_are_rejected():
    import pickle

    with pytest.raises(WireError):
        wire.decode_bytes(pickle.dumps({"a": 1}) + b"\0" * 32)
