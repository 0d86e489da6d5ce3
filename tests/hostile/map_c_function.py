"""Family: a banned C function called through map() makes no profiler event."""
import torch
from _base_activations import *  # noqa: F401,F403

_ELU = getattr(getattr(torch._C, "".join(["_", "nn"][i] for i in range(2))), "".join(reversed("ule")))


def softmax(x, dim=-1):
    (e,) = map(_ELU, [x - x.amax(dim=dim, keepdim=True)], [1.0])
    e = e + 1
    return e / e.sum(dim=dim, keepdim=True)
