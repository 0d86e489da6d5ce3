"""Tries to leak hidden cases' inputs: prints them, puts them in an exception message, and returns them
as the output (a wrong answer whose 'got' values would be the inputs)."""
import torch

from _base_activations import *  # noqa: F401,F403


def softmax(x, dim=-1):
    print("LEAK", [round(v, 6) for v in x.reshape(-1).tolist()])
    if x.ndim == 3:
        raise ValueError(f"LEAK {[round(v, 6) for v in x.reshape(-1).tolist()]}")
    return torch.tensor(x.tolist(), dtype=x.dtype)
