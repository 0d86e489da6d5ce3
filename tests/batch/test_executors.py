"""grader.batch.executors: the local pool survives workers that die or hang; the executor is chosen
from the options.  (The Dask executor is compared end to end in test_run.py.)"""

from __future__ import annotations

import os
import time
from pathlib import Path

from grader.batch.executors import DaskExecutor, LocalPool, make_executor
from grader.batch.records import Task

ROOT = Path(__file__).resolve().parents[2]
SUBS = ROOT / "tests" / "submissions"
REFERENCE = str(ROOT / "reference")


class _ExitOnUnpickle:
    def __reduce__(self):
        return (os._exit, (3,))


class _HangOnUnpickle:
    def __reduce__(self):
        return (time.sleep, (60,))


def test_pool_survives_dying_and_hanging_workers():
    """A worker that dies is replaced and its task retried once; one that hangs is killed at the task timeout;
    every task still gets exactly one outcome and the good one is graded."""
    common = dict(assignments=("activations",), device="cpu", reference_dir=REFERENCE)
    good = Task(id="good", name="good.py", key="k1",
                files=(("good.py", (SUBS / "correct/activations/tanh_einsum.py").read_bytes()),), **common)
    dies = Task(id="dies", name="dies.py", key="k2", files=(("dies.py", _ExitOnUnpickle()),), **common)
    hangs = Task(id="hangs", name="hangs.py", key="k3", files=(("hangs.py", _HangOnUnpickle()),), **common)
    outcomes = {}
    pool = LocalPool(2, reference_dir=REFERENCE, task_timeout=4.0)
    t0 = time.monotonic()
    pool.run([dies, hangs, good], lambda o: outcomes.__setitem__(o.id, outcomes.get(o.id, []) + [o]))
    assert time.monotonic() - t0 < 60
    assert {k: len(v) for k, v in outcomes.items()} == {"dies": 1, "hangs": 1, "good": 1}
    assert "died twice" in outcomes["dies"][0].error and not outcomes["dies"][0].cacheable
    assert "did not finish within 4 s" in outcomes["hangs"][0].error and not outcomes["hangs"][0].cacheable
    assert outcomes["good"][0].error == "" and outcomes["good"][0].doc["score"] == 48.0
    assert outcomes["dies"][0].doc["status"] == "error"


def test_make_executor_picks_dask_or_a_local_pool():
    dask = make_executor(scheduler="tcp://127.0.0.1:8786", jobs=3, reference_dir=REFERENCE, task_timeout=9.0)
    assert isinstance(dask, DaskExecutor) and dask.address == "tcp://127.0.0.1:8786" and dask.task_timeout == 9.0
    local = make_executor(scheduler=None, jobs=3, reference_dir=REFERENCE, task_timeout=9.0)
    assert isinstance(local, LocalPool) and local.n == 3 and local.task_timeout == 9.0
    assert make_executor(scheduler=None, jobs=None, reference_dir=REFERENCE, task_timeout=1.0).n >= 1
