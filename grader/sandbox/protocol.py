"""What crosses the sandbox boundary: typed records, shared-memory inputs, validation.

The grader (parent) and the student's process (child) talk over three
pipes and one shared-memory region:

* requests, parent → child: one :class:`Setup` frame, then one
  :class:`RunRequest` per run (one case's inputs at a time, sent only when
  that run starts), then an ``exit`` frame;
* results, child → parent: one :class:`ImportReport` after the submission's
  cells ran, then exactly one :class:`RunReport` per request, echoing the
  request's index and nonce;
* stdout/stderr of the child;
* the *input region*: a memfd mapped by both. The parent lays each run's
  input tensors out there (:func:`layout_inputs`) and the child hands the
  student tensors that are views of it (:func:`inputs_from_region`), so an
  in-place modification shows in memory the grader reads back itself
  (:func:`modified_inputs`), whatever the child reports.

Frames are :mod:`grader.sandbox.wire` frames. Everything the child sends is
untrusted: :func:`parse_report` turns a decoded frame into a record or
raises :class:`ProtocolError`; it never raises anything else, whatever the
bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.sandbox.wire import Array, DType, Opaque, WireError

__all__ = ["PROTOCOL", "ProtocolError", "Setup", "RunRequest", "Hit", "ErrorInfo", "CellError", "ImportReport",
           "RunReport", "RUN_STATUSES", "parse_report", "layout_inputs", "InputLayout", "modified_inputs",
           "inputs_from_region", "ALIGN", "TAMPER_EXIT"]

PROTOCOL = 2
ALIGN = 64
#: The exit code of a child the sandbox's ledger ended because the grader's guard was modified.
TAMPER_EXIT = 86
RUN_STATUSES = ("ok", "error", "not_implemented", "oom", "missing", "not_run")
_MAX_TEXT = 20_000
_MAX_LIST = 1_000


class ProtocolError(WireError):
    """A frame from the child that does not fit the protocol (wrong field, type, order or nonce)."""


# --------------------------------------------------------------------------- parent -> child


@dataclass(frozen=True)
class Setup:
    """The first request: what to import and how to confine it (trusted: written by the grader).

    Attributes:
        module_name / filename: the submission module's name and file.
        cells: ``[{"number", "source", "filename", "writefile"}]``, run in order.
        notebook: install IPython's harmless helpers (``display``, ``get_ipython``).
        banned / banned_ops: for the run-time guard.
        function_bans: ``{function: {"banned", "banned_ops"}}`` for functions with bans of their own.
        limits: ``{"memory_mb", "open_files", "cpu_seconds"}``.
        sandbox: ``{"tmpdir", "submission_dir", "read_roots", "deny_roots", "confine",
            "library_dirs", "landlock"}``.
        region_size: bytes of the shared input region.
        devices: every device a run may ask for.
    """

    module_name: str
    filename: str
    cells: tuple
    notebook: bool
    banned: tuple
    banned_ops: tuple
    limits: dict
    sandbox: dict
    region_size: int
    devices: tuple
    function_bans: dict

    def to_meta(self) -> dict:
        return {"kind": "setup", "protocol": PROTOCOL, "module_name": self.module_name, "filename": self.filename,
                "cells": list(self.cells), "notebook": self.notebook, "banned": list(self.banned),
                "banned_ops": list(self.banned_ops), "limits": dict(self.limits), "sandbox": dict(self.sandbox),
                "region_size": self.region_size, "devices": list(self.devices),
                "function_bans": dict(self.function_bans)}


@dataclass(frozen=True)
class RunRequest:
    """One run: call ``function`` on the inputs laid out in the region, on ``device``.

    Attributes:
        index: the run's number in this child (0, 1, ...).
        nonce: a random 63-bit number the child must echo (a frame written
            before the request was sent cannot carry it).
        function: the student's function to call.
        device: ``"cpu"`` or ``"cuda"``.
        seed: seed of torch's default generator right before the call.
        inputs: the input tree (:func:`layout_inputs`'s header).
        trajectory: for a trajectory case, ``{"spec": Trajectory data, "names": parameter names}``:
            the child drives the update rule for every step itself and reports the whole run.
    """

    index: int
    nonce: int
    function: str
    device: str
    seed: int
    inputs: dict
    trajectory: dict | None = None

    def to_meta(self) -> dict:
        meta = {"kind": "run", "index": self.index, "nonce": self.nonce, "function": self.function,
                "device": self.device, "seed": self.seed, "inputs": self.inputs}
        if self.trajectory is not None:
            meta["trajectory"] = self.trajectory
        return meta


# --------------------------------------------------------------------------- child -> parent (untrusted)


@dataclass(frozen=True)
class Hit:
    """A banned call the run-time guard saw (``how``: ``call``, ``op``, or ``tamper``)."""

    name: str
    line: int | None = None
    file: str | None = None
    how: str = "call"


@dataclass(frozen=True)
class ErrorInfo:
    """An exception in the student's code: type, message, traceback (the student's frames only)."""

    type: str
    message: str = ""
    traceback: str = ""


@dataclass(frozen=True)
class CellError:
    """A notebook cell (or the ``.py`` module, ``cell=0``) that raised while the submission ran."""

    cell: int
    error: ErrorInfo
    kind: str = "error"


@dataclass(frozen=True)
class ImportReport:
    """The submission's cells ran: ``ok`` when nothing stopped it (a ``.py`` that raised is not ok)."""

    ok: bool
    seconds: float = 0.0
    kind: str = ""
    error: ErrorInfo | None = None
    cell_errors: tuple[CellError, ...] = ()
    violations: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunReport:
    """The child's account of one run (validated; the output is decoded data, never objects)."""

    index: int
    nonce: int
    status: str
    seconds: float = 0.0
    hits: tuple[Hit, ...] = ()
    violations: tuple[str, ...] = ()
    error: ErrorInfo | None = None
    output: Any = None


def _text(v: Any, what: str, limit: int = _MAX_TEXT) -> str:
    if v is None:
        return ""
    if not isinstance(v, str):
        raise ProtocolError(f"{what} is not text")
    return v[:limit]


def _int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ProtocolError(f"{what} is not an integer")
    return v


def _float(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ProtocolError(f"{what} is not a number")
    f = float(v)
    if not math.isfinite(f) or f < 0:
        raise ProtocolError(f"{what} is not a non-negative finite number")
    return f


def _list(v: Any, what: str) -> list:
    if v is None:
        return []
    if not isinstance(v, list) or len(v) > _MAX_LIST:
        raise ProtocolError(f"{what} is not a list (or is too long)")
    return v


def _error(v: Any) -> ErrorInfo | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        raise ProtocolError("error is not an object")
    return ErrorInfo(type=_text(v.get("type"), "error type", 200) or "Exception",
                     message=_text(v.get("message"), "error message", 4000),
                     traceback=_text(v.get("traceback"), "traceback", 8000))


def _hits(v: Any) -> tuple[Hit, ...]:
    out = []
    for h in _list(v, "banned"):
        if not isinstance(h, dict):
            raise ProtocolError("a banned-call record is not an object")
        line = h.get("line")
        out.append(Hit(name=_text(h.get("name"), "banned name", 300) or "?",
                       line=_int(line, "banned line") if line is not None else None,
                       file=_text(h.get("file"), "banned file", 1000) or None,
                       how=_text(h.get("how"), "banned how", 20) or "call"))
    return tuple(out)


def parse_report(meta: Any, value: Any) -> ImportReport | RunReport:
    """The record a decoded frame from the child stands for.

    Raises:
        ProtocolError: anything that is not exactly a valid import or run report.
    """
    try:
        if not isinstance(meta, dict):
            raise ProtocolError("frame metadata is not an object")
        kind = meta.get("event")
        if kind in ("imported", "import_error"):
            cells = []
            for c in _list(meta.get("cell_errors"), "cell errors"):
                if not isinstance(c, dict):
                    raise ProtocolError("a cell error is not an object")
                cells.append(CellError(cell=_int(c.get("cell"), "cell number"), error=_error(c.get("error"))
                                       or ErrorInfo("Exception"), kind=_text(c.get("kind"), "cell kind", 40) or "error"))
            return ImportReport(ok=kind == "imported", seconds=_float(meta.get("seconds", 0.0), "seconds"),
                                kind=_text(meta.get("kind"), "kind", 100), error=_error(meta.get("error")),
                                cell_errors=tuple(cells),
                                violations=tuple(_text(x, "violation", 500) for x in _list(meta.get("violations"),
                                                                                          "violations")))
        if kind == "result":
            status = meta.get("status")
            if status not in RUN_STATUSES:
                raise ProtocolError(f"unknown run status {str(status)[:40]!r}")
            out = value.get("out") if isinstance(value, dict) else None
            return RunReport(index=_int(meta.get("index"), "run index"), nonce=_int(meta.get("nonce"), "nonce"),
                             status=status, seconds=_float(meta.get("seconds", 0.0), "seconds"),
                             hits=_hits(meta.get("banned")),
                             violations=tuple(_text(x, "violation", 500) for x in _list(meta.get("violations"),
                                                                                       "violations")),
                             error=_error(meta.get("error")), output=out)
        raise ProtocolError(f"unexpected frame {str(kind)[:40]!r}")
    except ProtocolError:
        raise
    except Exception as e:  # noqa: BLE001 - whatever the bytes, only ProtocolError leaves
        raise ProtocolError(f"malformed frame ({type(e).__name__})") from None


# --------------------------------------------------------------------------- the shared input region


@dataclass(frozen=True)
class InputLayout:
    """Where one run's input arrays sit in the region.

    Attributes:
        header: the input tree as JSON: ``{"t": "shm", "dtype", "shape", "off", "n"}`` for arrays,
            wire nodes for everything else.
        blocks: ``(offset, bytes, argument path)`` of every array, to write and to check back.
        size: bytes used.
    """

    header: dict
    blocks: tuple = ()
    size: int = 0


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def layout_inputs(tree: Any, *, capacity: int) -> InputLayout | None:
    """Lay the decoded input tree (``{"args": ..., "kwargs": ...}``) out in a region of ``capacity`` bytes.

    Returns None when the arrays do not fit (the caller then sends them inline).
    """
    from grader.sandbox.wire import _Encoder

    blocks: list = []
    pos = 0
    enc = _Encoder()

    def node(v, path):
        nonlocal pos
        if isinstance(v, Array):
            data = np.ascontiguousarray(v.data)
            if data.dtype.byteorder == ">":
                data = data.astype(data.dtype.newbyteorder("<"))
            raw = data.tobytes()
            off = pos
            pos = _aligned(pos + len(raw))
            blocks.append((off, raw, path))
            return {"t": "shm", "dtype": v.dtype, "shape": list(v.shape), "off": off, "n": len(raw)}
        if isinstance(v, tuple) and not hasattr(v, "cls"):
            return {"t": "tuple", "items": [node(x, path + (i,)) for i, x in enumerate(v)]}
        if isinstance(v, list):
            return {"t": "list", "items": [node(x, path + (i,)) for i, x in enumerate(v)]}
        if isinstance(v, dict):
            return {"t": "dict", "items": [[enc.node(k), node(x, path + (k,))] for k, x in v.items()]}
        return enc.node(v)

    header = node(tree, ())
    if pos > capacity or enc.size:
        return None
    return InputLayout(header=header, blocks=tuple(blocks), size=pos)


def modified_inputs(layout: InputLayout, region) -> list[tuple]:
    """Paths of the input arrays whose bytes in ``region`` differ from what was written."""
    view = memoryview(region)
    return [path for off, raw, path in layout.blocks if view[off:off + len(raw)] != raw]


_TORCH = {"float16": "float16", "float32": "float32", "float64": "float64", "int8": "int8", "int16": "int16",
          "int32": "int32", "int64": "int64", "uint8": "uint8", "bool": "bool", "complex64": "complex64",
          "complex128": "complex128"}


def inputs_from_region(header: Any, region) -> Any:
    """The child's side of :func:`layout_inputs`: torch tensors that are views of ``region``.

    Trusted input (written by the grader); runs in the child.
    """
    import torch

    from grader.sandbox.wire import _node

    def build(n):
        t = n.get("t")
        if t == "shm":
            dt = getattr(torch, _TORCH[n["dtype"]])
            shape = tuple(int(s) for s in n["shape"])
            count = math.prod(shape)
            if count == 0:
                return torch.empty(shape, dtype=dt)
            return torch.frombuffer(region, dtype=dt, count=count, offset=int(n["off"])).view(shape)
        if t in ("tuple", "list"):
            items = [build(x) for x in n["items"]]
            return tuple(items) if t == "tuple" else items
        if t == "dict":
            return {_node(k, b"", 0): build(v) for k, v in n["items"]}
        v = _node(n, b"", 0)
        if isinstance(v, DType):
            return getattr(torch, v.name)
        if isinstance(v, Opaque):
            return None
        return v

    return build(header)

