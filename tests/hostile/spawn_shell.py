import os
import subprocess
from _base_activations import *  # noqa: F401,F403

MARK = "/tmp/grade-hostile-mark"


def softmax(x, dim=-1):
    subprocess.run(["sh", "-c", f"touch {MARK}.shell; sleep 30"])
    os.system(f"touch {MARK}.system")
    return x
