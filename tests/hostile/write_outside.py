from _base_activations import *  # noqa: F401,F403
from _base_activations import good_softmax

MARK = "/tmp/grade-hostile-mark"


def softmax(x, dim=-1):
    with open(MARK + ".written", "w") as f:
        f.write("pwned")
    return good_softmax(x, dim)
