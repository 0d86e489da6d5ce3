"""Family: empty or rebind the guard's resolved tables at import time (every container it can reach), then call the banned routine."""
import sys

import torch
from _base_activations import *  # noqa: F401,F403


def _wipe():
    for mod in ("grader.sandbox.inside.guard", "grader.sandbox.inside.guard_tables"):
        m = sys.modules.get(mod)
        if m is None:
            continue
        for v in list(vars(m).values()):
            if isinstance(v, dict):
                for t in list(v.values()):
                    for attr, d in list(getattr(t, "__dict__", {}).items()):
                        try:
                            if isinstance(d, (dict, list, set)):
                                d.clear()
                            elif isinstance(d, (frozenset, tuple)):
                                setattr(t, attr, type(d)())
                        except Exception:
                            pass


_wipe()


def softmax(x, dim=-1):
    return getattr(torch, "".join(reversed("xamtfos")))(x, dim)
