"""Sleeps forever while writing a progress-looking frame every 0.2 s: nothing it sends may extend its deadline."""
import json
import os
import struct
import time

from _base_activations import *  # noqa: F401,F403


def softmax(x, dim=-1):
    header = json.dumps({"meta": {"event": "progress"}, "value": {"t": "none"}}).encode()
    frame = struct.pack("<4sIQ", b"GRD1", len(header), 0) + header
    while True:
        for fd in range(3, 64):
            try:
                os.write(fd, frame)
            except OSError:
                pass
        time.sleep(0.2)
