"""Family: pause the profiler around a banned call (catching the refusal) and restore it."""
import sys

import torch
from _base_activations import *  # noqa: F401,F403

_F = getattr(getattr(torch._C, "".join(["_", "nn"][i] for i in range(2))), "".join(reversed("ule")))


def softmax(x, dim=-1):
    saved = sys.getprofile()
    try:
        sys.setprofile(None)
    except Exception:
        pass
    m = x.amax(dim=dim, keepdim=True)
    e = _F(x - m, 1.0) + 1  # exp(x - m) for x - m <= 0, through a banned routine
    try:
        sys.setprofile(saved)
    except Exception:
        pass
    return e / e.sum(dim=dim, keepdim=True)
