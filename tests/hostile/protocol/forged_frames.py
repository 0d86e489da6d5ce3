"""Writes well-formed result frames of its own to every descriptor it can, guessing indices and nonces,
then returns the right answer: the grader must not believe the channel any more."""
import json
import os
import struct

from _base_activations import *  # noqa: F401,F403
from _base_activations import good_softmax


def _frame(meta):
    header = json.dumps({"meta": meta, "value": {"t": "none"}}).encode()
    return struct.pack("<4sIQ", b"GRD1", len(header), 0) + header


def softmax(x, dim=-1):
    for fd in range(3, 64):
        for i in range(0, 40):
            try:
                os.write(fd, _frame({"event": "result", "index": i, "nonce": i, "status": "ok", "banned": []}))
            except OSError:
                break
    return good_softmax(x, dim)
