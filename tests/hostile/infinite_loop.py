from _base_activations import *  # noqa: F401,F403


def softmax(x, dim=-1):
    while True:
        pass
