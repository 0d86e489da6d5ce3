import os
from _base_activations import *  # noqa: F401,F403

# Where the grader keeps the reference (the test suite tells us; a real attacker would guess).
REF = os.environ.get("GRADE_TEST_REFERENCE", "/work/main/reference/activations.py")


def softmax(x, dim=-1):
    with open(REF) as f:
        source = f.read()
    ns = {}
    exec(source, ns)
    return ns["softmax"](x, dim)
