"""The protocol's records, the shared input region, and fuzzing of everything that reads the child's bytes."""

from __future__ import annotations

import json
import os
import selectors
import struct

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.sandbox import protocol, wire
from grader.sandbox.protocol import ImportReport, ProtocolError, RunReport, parse_report
from grader.sandbox.session import Session

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
                    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=10), kids, max_size=5),
                    max_leaves=30)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(meta=JSON, value=JSON)
def test_parse_report_raises_only_protocol_errors(meta, value):
    try:
        rec = parse_report(meta, value)
    except ProtocolError:
        return
    assert isinstance(rec, (ImportReport, RunReport))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(meta=st.fixed_dictionaries({"event": st.just("result")}, optional={
    "index": JSON, "nonce": JSON, "status": st.sampled_from([*protocol.RUN_STATUSES, "bogus"]) | JSON,
    "seconds": JSON, "banned": JSON, "violations": JSON, "error": JSON}))
def test_result_reports_with_adversarial_fields(meta):
    try:
        rec = parse_report(meta, {"out": None})
    except ProtocolError:
        return
    assert isinstance(rec.index, int) and not isinstance(rec.index, bool) and rec.status in protocol.RUN_STATUSES


def test_a_valid_result_report():
    rec = parse_report({"event": "result", "index": 3, "nonce": 7, "status": "ok", "seconds": 0.5,
                        "banned": [{"name": "torch.softmax", "line": 4, "file": "a.py", "how": "call"}],
                        "violations": ["opened a socket"]}, {"out": 1.5})
    assert (rec.index, rec.nonce, rec.status, rec.output, rec.hits[0].line) == (3, 7, "ok", 1.5, 4)


@pytest.mark.parametrize("meta", [
    {"event": "result", "index": "0", "nonce": 1, "status": "ok"},  # index not an integer
    {"event": "result", "index": True, "nonce": 1, "status": "ok"},
    {"event": "result", "index": 0, "nonce": 1, "status": "ok", "seconds": float("nan")},
    {"event": "result", "index": 0, "nonce": 1, "status": "ok", "banned": [{"line": "x"}]},
    {"event": "result", "index": 0, "nonce": 1, "status": "ok", "banned": list(range(5000))},
    {"event": "progress"},
])
def test_malformed_reports_are_protocol_errors(meta):
    with pytest.raises(ProtocolError):
        parse_report(meta, None)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(header=st.binary(max_size=200) | JSON.map(lambda v: json.dumps({"meta": {}, "value": v}).encode()),
       payload=st.binary(max_size=64))
def test_wire_decode_raises_only_wire_errors(header, payload):
    try:
        wire.decode(header, payload)
    except wire.WireError:
        pass


class _FakeWorker:
    read_roots: tuple = ()
    library_dirs: tuple = ()

    def _wait_exit(self, pid, timeout):
        return None


def _pump_bytes(data: bytes) -> Session:
    """A session whose result pipe holds ``data``, pumped until the pipe is drained (no child)."""
    s = Session(_FakeWorker(), {}, memory_mb=64, output_bytes=1024, region_size=64)
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    os.set_blocking(r, False)
    s._sel = selectors.DefaultSelector()
    s._sel.register(r, selectors.EVENT_READ, "res")
    s._fds = {"res": r}
    for _ in range(50):
        if not s._res_open or s.stop is not None:
            break
        s._pump(0.01)
    s._cleanup()
    return s


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400))
def test_the_watcher_turns_any_bytes_into_a_verdict(data):
    s = _pump_bytes(data)  # never raises
    assert s.stop is None or s.stop.reason in ("protocol", "output")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(meta=JSON, depth=st.integers(0, 3000))
def test_the_watcher_survives_adversarial_frames(meta, depth):
    header = (b"[" * depth + json.dumps({"meta": meta}).encode() + b"]" * depth) if depth else \
        json.dumps({"meta": meta, "value": {"t": "none"}}).encode()
    s = _pump_bytes(struct.pack("<4sIQ", wire.MAGIC, len(header), 0) + header)
    assert s.stop is None or s.stop.reason == "protocol"
    if s.stop is None:
        assert all(isinstance(r, (ImportReport, RunReport)) for r in s._reports)


def test_inputs_round_trip_through_the_region_and_mutation_is_seen():
    import mmap

    x = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    tree = wire.roundtrip({"args": (x, 2, "txt", [torch.ones(2, dtype=torch.bool)]), "kwargs": {"dim": -1}})
    region = mmap.mmap(-1, 4096)
    lay = protocol.layout_inputs(tree, capacity=4096)
    assert lay is not None and all(off % protocol.ALIGN == 0 for off, _, _ in lay.blocks)
    for off, raw, _ in lay.blocks:
        region[off:off + len(raw)] = raw
    got = protocol.inputs_from_region(json.loads(json.dumps(lay.header)), region)
    assert torch.equal(got["args"][0], x) and got["args"][1:3] == (2, "txt") and got["kwargs"] == {"dim": -1}
    assert protocol.modified_inputs(lay, region) == []
    got["args"][0].mul_(2)  # an in-place op in the student's process writes the region itself
    assert protocol.modified_inputs(lay, region) == [("args", 0)]
    del got
    assert protocol.layout_inputs(tree, capacity=16) is None  # too big: sent inline instead


def test_a_zero_size_input_and_big_endian_arrays():
    import mmap

    tree = wire.roundtrip({"args": (torch.empty(0, 3), np.arange(3, dtype=">f8")), "kwargs": {}})
    region = mmap.mmap(-1, 1024)
    lay = protocol.layout_inputs(tree, capacity=1024)
    for off, raw, _ in lay.blocks:
        region[off:off + len(raw)] = raw
    got = protocol.inputs_from_region(lay.header, region)
    assert got["args"][0].shape == (0, 3) and got["args"][1].tolist() == [0.0, 1.0, 2.0]
