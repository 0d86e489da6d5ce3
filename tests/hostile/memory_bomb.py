import torch
from _base_activations import *  # noqa: F401,F403


def softmax(x, dim=-1):
    return torch.ones(1 << 40, dtype=torch.uint8)  # 1 TiB
