"""Family: capture another library's C routine (scipy.special.expit) where the guard's wrapping of
module names cannot reach it (a closure, a container) at import time, and call it later."""
import importlib

import torch
from _base_activations import *  # noqa: F401,F403

_box = [getattr(importlib.import_module("scipy.special"), "".join(reversed("tipxe")))]


def _make():
    f = _box[0]

    def call(a):
        return f(a)
    return call


_call = _make()


def sigmoid(x):
    return torch.from_numpy(_call(x.detach().cpu().numpy())).to(x.dtype)
