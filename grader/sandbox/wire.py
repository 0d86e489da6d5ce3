"""A small, pickle-free wire format for values crossing the sandbox boundary.

A *frame* is ``b"GRD1" + u32 header length + u64 payload length + JSON header
+ payload``.  The JSON header describes a value tree; tensors and arrays are
raw little-endian bytes in the payload, addressed by ``(offset, nbytes)``.

Decoding never executes code and never builds student objects: a tensor
subclass, whatever its overrides, arrives as a plain :class:`Array` of
numbers, its class name kept only for the report.  The grader compares only
what it decoded itself.

Value tree nodes (JSON):

=========  ==================================================================
``t``      meaning
=========  ==================================================================
``arr``    array: ``dtype`` (numpy name), ``shape``, ``device``, ``off``,
           ``n``, ``kind`` (``tensor`` | ``ndarray``), ``cls`` (class name)
``none``   ``None``
``bool``   ``v``
``int``    ``v`` (arbitrary precision, as a decimal string)
``float``  ``v`` (``repr`` string: ``"nan"``, ``"inf"`` allowed)
``str``    ``v``
``tuple``  ``items``
``list``   ``items``
``dict``   ``items``: ``[[key node, value node], ...]``
``other``  ``type`` and a truncated ``repr`` of something we cannot encode
=========  ==================================================================
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

MAGIC = b"GRD1"
_HEAD = struct.Struct("<4sIQ")
MAX_HEADER = 64 << 20
MAX_PAYLOAD = 1 << 34
MAX_DEPTH = 32
MAX_ITEMS = 100_000

_DTYPES = {
    "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool",
    "complex64", "complex128",
}


class WireError(ValueError):
    """A frame could not be decoded (truncated, malformed, or oversized)."""


@dataclass(frozen=True, eq=False)
class Array:
    """A decoded tensor: numbers only.

    Attributes:
        data: the values, a read-only numpy array of the original dtype/shape.
        dtype: original dtype name, torch-style (``"float32"``, ``"int64"``, ``"bool"``).
        device: device type the tensor lived on (``"cpu"``, ``"cuda"``).
        kind: ``"tensor"`` or ``"ndarray"`` (a numpy array was returned).
        cls: the Python class name of the original object (``"Tensor"`` or a subclass).
    """

    data: np.ndarray
    dtype: str
    device: str = "cpu"
    kind: str = "tensor"
    cls: str = "Tensor"

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)


_TORCH_DTYPES = _DTYPES | {"bfloat16", "int8", "uint8", "complex64", "complex128"}


@dataclass(frozen=True)
class DType:
    """A decoded ``torch.dtype`` (its name, ``"float64"``); :func:`to_torch` turns it back into the dtype."""

    name: str

    def __str__(self) -> str:
        return f"torch.{self.name}"


@dataclass(frozen=True)
class Opaque:
    """A returned object of a type the grader does not accept (e.g. a float list element of unknown type)."""

    type: str
    repr: str


class TupleOf(tuple):
    """A decoded tuple that was a subclass (a namedtuple...): a plain tuple, plus its class name ``cls``."""

    cls: str = "tuple"

    @classmethod
    def of(cls, items, name: str) -> "TupleOf":
        t = cls(items)
        t.cls = str(name)[:100]
        return t


class ListOf(list):
    """A decoded list that was a subclass: a plain list, plus its class name ``cls``."""

    cls: str = "list"

    @classmethod
    def of(cls, items, name: str) -> "ListOf":
        t = cls(items)
        t.cls = str(name)[:100]
        return t


class DictOf(dict):
    """A decoded mapping that was not a plain dict (OrderedDict, defaultdict): its items, plus ``cls``."""

    cls: str = "dict"


def class_name(v) -> str | None:
    """The original class of a decoded container when it was a subclass (``"OrderedDict"``), else None."""
    return getattr(v, "cls", None) if isinstance(v, (TupleOf, ListOf, DictOf)) else None


# ---------------------------------------------------------------------------
# encoding (runs in the child and in the grader)


class _Encoder:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, b: bytes) -> tuple[int, int]:
        off = self.size
        self.chunks.append(b)
        self.size += len(b)
        return off, len(b)

    def node(self, v: Any, depth: int = 0) -> dict:
        if depth > MAX_DEPTH:
            return {"t": "other", "type": type(v).__name__, "repr": "<nested too deeply>"}
        tv = type(v)
        if v is None:
            return {"t": "none"}
        if tv is bool:
            return {"t": "bool", "v": bool(v)}
        if tv is int:
            return {"t": "int", "v": str(int(v))}
        if tv is float:
            return {"t": "float", "v": float.__repr__(v)}
        if tv is str:
            return {"t": "str", "v": str.__str__(v)[:10000]}
        if tv is tuple or tv is list:
            items = [self.node(x, depth + 1) for x in v[:MAX_ITEMS]]
            return {"t": "tuple" if tv is tuple else "list", "items": items}
        if tv is dict:
            return {"t": "dict", "items": [[self.node(k, depth + 1), self.node(x, depth + 1)] for k, x in dict.items(v)]}
        # Subclasses of the standard containers (namedtuple, OrderedDict, defaultdict):
        # their structure, read through the base class's own methods, with the class name kept.
        # (In the student's process, after the guard: nothing here may run the student's code, so
        # classes are tested on type(v), never on a __class__ the object reports, and values are read
        # through the base classes' own slots. A mapping that is no dict is not read: its items()
        # would be the student's code.)
        if issubclass(tv, (tuple, list)) and not issubclass(tv, (str, bytes)):
            base = tuple if issubclass(tv, tuple) else list
            items = [self.node(x, depth + 1) for x in list(base.__iter__(v))[:MAX_ITEMS]]
            return {"t": base.__name__, "items": items, "cls": tv.__name__[:100]}
        if issubclass(tv, dict):
            pairs = list(dict.items(v))[:MAX_ITEMS]
            return {"t": "dict", "items": [[self.node(k, depth + 1), self.node(x, depth + 1)] for k, x in pairs],
                    "cls": tv.__name__[:100]}
        if issubclass(tv, bool):
            return {"t": "bool", "v": bool(int.__index__(v))}
        if issubclass(tv, int):
            return {"t": "int", "v": str(int.__index__(v))}
        if issubclass(tv, float):
            return {"t": "float", "v": float.__repr__(v)}
        if issubclass(tv, str):
            return {"t": "str", "v": str.__str__(v)[:10000]}
        if tv is Array:
            return self._ndarray(v.data, kind=v.kind, device=v.device, cls=v.cls)
        if tv is Opaque:
            return {"t": "other", "type": v.type, "repr": v.repr}
        if tv is DType:
            return {"t": "dtype", "v": v.name}
        arr = _tensor_node(self, v)
        if arr is not None:
            return arr
        dt = _dtype_node(v)
        if dt is not None:
            return dt
        if issubclass(tv, np.ndarray):
            return self._ndarray(np.asarray(v), kind="ndarray", device="cpu", cls=tv.__name__)
        if issubclass(tv, (np.floating, np.integer, np.bool_)):
            return self._ndarray(np.asarray(v), kind="ndarray", device="cpu", cls=tv.__name__)
        try:
            r = object.__repr__(v)
        except Exception:  # pragma: no cover - defensive
            r = "<unrepresentable>"
        return {"t": "other", "type": type(v).__name__, "repr": r[:200]}

    def _ndarray(self, a: np.ndarray, *, kind: str, device: str, cls: str) -> dict:
        name = a.dtype.name
        if name not in _DTYPES:
            return {"t": "other", "type": f"{cls}[{name}]", "repr": f"array of dtype {name}"}
        a = np.array(a, copy=True, order="C")
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        off, n = self.add(a.tobytes())
        return {"t": "arr", "dtype": name, "shape": list(a.shape), "device": device, "off": off, "n": n,
                "kind": kind, "cls": cls}


#: Why a tensor was not read (see :func:`base_tensor`); the report shows it.
DISPATCH_NOTE = "a tensor subclass that overrides __torch_dispatch__ (return a plain torch.Tensor)"


def base_tensor(v):
    """``v`` (a torch.Tensor or subclass) as a plain torch.Tensor on the same storage, without running any
    of the subclass's code: ``__torch_function__`` is switched off while the base class reads it.

    Raises:
        TypeError: ``v`` has ``__torch_dispatch__`` (a wrapper subclass): reading it at all, even
            through the base class, would run its Python code (:data:`DISPATCH_NOTE`).
    """
    import torch

    T = torch.Tensor
    if type(v) is T:
        return v
    if torch._C._dispatch_keys(v).has(torch._C.DispatchKey.Python):
        raise TypeError(f"got a {type(v).__name__}, {DISPATCH_NOTE}")
    with torch._C.DisableTorchFunctionSubclass():
        return T.as_subclass(v, T)


def _tensor_node(enc: _Encoder, v: Any) -> dict | None:
    """Encode a torch.Tensor (or subclass) through the base class's own methods."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not issubclass(type(v), torch.Tensor):
        return None
    T = torch.Tensor
    try:
        base = base_tensor(v)
    except TypeError:  # (in the student's process, after the guard: not read)
        return {"t": "other", "type": type(v).__name__[:100], "repr": DISPATCH_NOTE}
    # Read the storage through the base-class methods so a subclass's overrides of
    # __torch_function__, .cpu(), .numpy() cannot lie.
    with torch._C.DisableTorchFunctionSubclass():
        device = str(T.__getattribute__(base, "device").type)
        t = T.detach(base)
        if T.is_conj(t):
            t = T.resolve_conj(t)
        if T.is_neg(t):
            t = T.resolve_neg(t)
        t = T.cpu(t)
        if t.dtype == torch.bfloat16:
            t = T.to(t, torch.float32)
        if t.layout != torch.strided:
            t = T.to_dense(t)
        t = T.contiguous(t)
        a = T.numpy(t)
    return enc._ndarray(a, kind="tensor", device=device, cls=type(v).__name__)


def _dtype_node(v: Any) -> dict | None:
    """A ``torch.dtype`` argument (``dtype=torch.float64``) as its name."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or type(v) is not torch.dtype:
        return None
    return {"t": "dtype", "v": str(v).removeprefix("torch.")}


def encode(value: Any, meta: dict | None = None) -> bytes:
    """Encode ``value`` (and a JSON-able ``meta`` dict) as one frame."""
    enc = _Encoder()
    root = enc.node(value)
    header = json.dumps({"meta": meta or {}, "value": root}, separators=(",", ":"), allow_nan=True).encode()
    return _HEAD.pack(MAGIC, len(header), enc.size) + header + b"".join(enc.chunks)


def encode_meta(meta: dict) -> bytes:
    """A frame carrying only metadata (``value`` is None)."""
    return encode(None, meta)


# ---------------------------------------------------------------------------
# decoding (runs in the grader, on untrusted bytes)


def read_frame(read_exact) -> tuple[dict, Any]:
    """Read one frame with ``read_exact(n) -> bytes`` and decode it to ``(meta, value)``.

    Raises:
        EOFError: the stream ended before a frame started.
        WireError: the frame is malformed or exceeds the size limits.
    """
    head = read_exact(_HEAD.size)
    if not head:
        raise EOFError
    if len(head) < _HEAD.size:
        raise WireError("truncated frame header")
    return decode_body(head, read_exact)


def decode_body(head: bytes, read_exact) -> tuple[dict, Any]:
    magic, hlen, plen = _HEAD.unpack(head)
    if magic != MAGIC:
        raise WireError("bad frame magic")
    if hlen > MAX_HEADER or plen > MAX_PAYLOAD:
        raise WireError(f"frame too large (header {hlen} B, payload {plen} B)")
    header = read_exact(hlen)
    payload = read_exact(plen) if plen else b""
    if len(header) != hlen or len(payload) != plen:
        raise WireError("truncated frame")
    return decode(header, payload)


def decode_bytes(frame: bytes) -> tuple[dict, Any]:
    """Decode a complete frame held in memory."""
    view = memoryview(frame)
    pos = 0

    def read_exact(n: int) -> bytes:
        nonlocal pos
        b = bytes(view[pos:pos + n])
        pos += n
        return b

    meta, value = read_frame(read_exact)
    return meta, value


def decode(header: bytes, payload: bytes) -> tuple[dict, Any]:
    try:
        doc = json.loads(header)
    except (ValueError, UnicodeDecodeError) as e:
        raise WireError(f"bad frame header: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("meta", {}), dict):
        raise WireError("bad frame header")
    try:
        return doc.get("meta", {}), _node(doc.get("value", {"t": "none"}), payload, 0)
    except WireError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError, RecursionError) as e:
        raise WireError(f"malformed value tree ({type(e).__name__})") from None


def _node(n: Any, payload: bytes, depth: int) -> Any:
    if depth > MAX_DEPTH + 1 or not isinstance(n, dict):
        raise WireError("malformed value tree")
    t = n.get("t")
    if t == "none":
        return None
    if t == "bool":
        return bool(n["v"])
    if t == "int":
        s = str(n["v"])
        if len(s) > 4000:
            raise WireError("integer too long")
        return int(s)
    if t == "float":
        return float(str(n["v"]))
    if t == "str":
        return str(n["v"])
    if t in ("tuple", "list"):
        items = n.get("items", [])
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise WireError("malformed sequence")
        vals = [_node(x, payload, depth + 1) for x in items]
        cls = n.get("cls")
        if cls is not None:
            return (TupleOf if t == "tuple" else ListOf).of(vals, cls)
        return tuple(vals) if t == "tuple" else vals
    if t == "dict":
        pairs = n.get("items", [])
        if not isinstance(pairs, list) or len(pairs) > MAX_ITEMS:
            raise WireError("malformed mapping")
        cls = n.get("cls")
        out = DictOf() if cls is not None else {}
        for pair in pairs:
            k, v = pair
            key = _node(k, payload, depth + 1)
            if not isinstance(key, (str, int, float, bool, type(None))):
                raise WireError("unhashable dict key")
            out[key] = _node(v, payload, depth + 1)
        if cls is not None:
            out.cls = str(cls)[:100]
        return out
    if t == "arr":
        dtype = str(n["dtype"])
        if dtype not in _DTYPES:
            raise WireError(f"unsupported dtype {dtype!r}")
        shape = tuple(int(s) for s in n["shape"])
        if any(s < 0 for s in shape):
            raise WireError("negative dimension")
        off, size = int(n["off"]), int(n["n"])
        npd = np.dtype(dtype).newbyteorder("<")
        count = math.prod(shape)
        if size != count * npd.itemsize or off < 0 or off + size > len(payload):
            raise WireError("array bytes do not match its shape and dtype")
        data = np.frombuffer(payload, dtype=npd, count=count, offset=off).reshape(shape)
        data = data.astype(npd.newbyteorder("="), copy=True)
        data.setflags(write=False)
        return Array(data=data, dtype=dtype, device=str(n.get("device", "cpu")),
                     kind=str(n.get("kind", "tensor")), cls=str(n.get("cls", "Tensor"))[:100])
    if t == "dtype":
        name = str(n["v"])
        if name not in _TORCH_DTYPES:
            raise WireError(f"unknown torch dtype {name!r}")
        return DType(name)
    if t == "other":
        return Opaque(type=str(n.get("type", "?"))[:100], repr=str(n.get("repr", ""))[:200])
    raise WireError(f"unknown node type {t!r}")


def roundtrip(value: Any) -> Any:
    """Encode and decode ``value`` in-process: how the grader turns its own tensors into :class:`Array`."""
    return decode_bytes(encode(value))[1]


def to_torch(value: Any):
    """Rebuild torch tensors from a decoded value tree (used by the child for inputs)."""
    import torch

    if isinstance(value, Array):
        return torch.from_numpy(np.array(value.data, copy=True))
    if isinstance(value, DType):
        return getattr(torch, value.name)
    if isinstance(value, tuple):
        return tuple(to_torch(v) for v in value)
    if isinstance(value, list):
        return [to_torch(v) for v in value]
    if isinstance(value, dict):
        return {k: to_torch(v) for k, v in value.items()}
    return value
