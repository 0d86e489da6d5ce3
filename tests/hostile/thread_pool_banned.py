"""Family: a banned routine run by a thread pool."""
from concurrent.futures import ThreadPoolExecutor

import torch
from _base_activations import *  # noqa: F401,F403

_F = getattr(torch, "".join(reversed("xamtfos")))


def softmax(x, dim=-1):
    with ThreadPoolExecutor(1) as ex:
        return ex.submit(_F, x, dim).result()
