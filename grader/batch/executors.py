"""Where tasks run: a local pool of spawned worker processes, or a Dask cluster, behind one interface.

An :class:`Executor` takes the tasks and calls ``on_outcome`` exactly once per task, in the
calling thread, as results arrive (in any order).  A task whose worker dies, hangs or is lost
gets an error outcome (:func:`grader.batch.task.failed_outcome`), never none.  An executor
raises :class:`~grader.batch.errors.BatchError` only when it cannot run at all (workers that
cannot start, an unreachable scheduler).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from grader.batch.errors import BatchError
from grader.batch.records import Outcome, Task
from grader.batch.task import close_states, failed_outcome, grade_task, worker_state

__all__ = ["Executor", "LocalPool", "DaskExecutor", "make_executor", "default_jobs", "OutcomeFn"]

OutcomeFn = Callable[[Outcome], None]


class Executor(Protocol):
    """Runs batch tasks somewhere; see the module docstring for the contract."""

    def run(self, tasks: Sequence[Task], on_outcome: OutcomeFn) -> None:
        """Run every task; call ``on_outcome`` once per task.

        Raises:
            BatchError: the executor cannot run the tasks at all.
        """


def default_jobs() -> int:
    """The CPU cores this process may use (the default of ``-j``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


def make_executor(*, scheduler: str | None, jobs: int | None, reference_dir: str, task_timeout: float) -> Executor:
    """The Dask executor when ``scheduler`` is set, else a local pool of ``jobs`` (default: :func:`default_jobs`)
    processes; ``task_timeout`` seconds bound one task (see each executor)."""
    if scheduler:
        return DaskExecutor(scheduler, task_timeout=task_timeout)
    return LocalPool(max(1, jobs or default_jobs()), reference_dir=reference_dir, task_timeout=task_timeout)


# ---------------------------------------------------------------------------
# the local pool: spawned worker processes, one task at a time each


@dataclass(frozen=True)
class _Ready:
    """Pool worker -> parent: started (sandbox Worker and catalog loaded), waiting for tasks."""

    pid: int


@dataclass(frozen=True)
class _Done:
    """Pool worker -> parent: the outcome of the task it was sent."""

    outcome: Outcome


@dataclass(frozen=True)
class _Fatal:
    """Pool worker -> parent: it cannot start (broken specs or references); the batch stops."""

    message: str


def _pool_worker_main(conn, reference_dir: str) -> None:  # pragma: no cover - runs in a child process
    """A pool process: load the Worker and catalog, then grade each :class:`Task` received until ``None``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        worker_state(reference_dir, start="auto")
    except BaseException as e:
        try:
            conn.send(_Fatal(f"{type(e).__name__}: {e}"))
        finally:
            return
    conn.send(_Ready(os.getpid()))
    try:
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                break
            if task is None:
                break
            out = grade_task(task)
            try:
                conn.send(_Done(out))
            except (OSError, BrokenPipeError):
                break
    finally:
        close_states()


@dataclass
class _Slot:
    proc: Any
    conn: Any
    ready: bool = False
    task: Task | None = None
    started: float = 0.0


class LocalPool:
    """``n`` spawned processes, each with its own sandbox Worker and catalog, one task at a time.

    A process that dies while grading gets its task retried once on a fresh process;
    one that exceeds ``task_timeout`` seconds on a task is killed and its entry gets an error
    outcome.  Ctrl-C or a fatal error kills every process at once.

    Raises (from :meth:`run`):
        BatchError: a process cannot start (its message says why), or processes keep dying.
    """

    def __init__(self, n: int, *, reference_dir: str, task_timeout: float) -> None:
        import multiprocessing

        self.ctx = multiprocessing.get_context("spawn")
        self.n = n
        self.reference_dir = reference_dir
        self.task_timeout = task_timeout
        self.slots: list[_Slot] = []
        self.restarts = 0

    def _spawn(self) -> _Slot:
        parent, child = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(target=_pool_worker_main, args=(child, self.reference_dir), daemon=True,
                                name="grade-batch-worker")
        proc.start()
        child.close()
        return _Slot(proc=proc, conn=parent)

    def _kill(self, slot: _Slot) -> None:
        try:
            slot.conn.close()
        except OSError:
            pass
        if slot.proc.is_alive():
            slot.proc.kill()
        slot.proc.join(timeout=10)

    def run(self, tasks: Sequence[Task], on_outcome: OutcomeFn) -> None:
        """Run ``tasks`` on at most ``n`` processes (fewer for fewer tasks); see the class docstring."""
        from multiprocessing.connection import wait

        pending = deque(tasks)
        attempts: Counter = Counter()
        self.slots = [self._spawn() for _ in range(min(self.n, max(1, len(tasks))))]
        try:
            while pending or any(s.task is not None for s in self.slots):
                now = time.monotonic()
                for s in self.slots:
                    if s.ready and s.task is None and pending:
                        t = pending.popleft()
                        s.conn.send(t)
                        s.task, s.started = t, time.monotonic()
                objs = [s.conn for s in self.slots] + [s.proc.sentinel for s in self.slots]
                ready = wait(objs, timeout=1.0)
                for i, s in enumerate(list(self.slots)):
                    dead = False
                    if s.conn in ready:
                        try:
                            msg = s.conn.recv()
                        except (EOFError, OSError):
                            msg, dead = None, True
                        if isinstance(msg, _Ready):
                            s.ready = True
                        elif isinstance(msg, _Done):
                            s.task = None
                            on_outcome(msg.outcome)
                        elif isinstance(msg, _Fatal):
                            raise BatchError(f"a grading worker could not start: {msg.message}")
                    if not dead and s.proc.sentinel in ready and not s.proc.is_alive():
                        dead = True
                    if dead:
                        s.proc.join(timeout=5)
                        code = s.proc.exitcode
                        self._kill(s)
                        task = s.task
                        if task is not None:
                            attempts[task.id] += 1
                            if attempts[task.id] < 2:
                                pending.appendleft(task)
                            else:
                                on_outcome(failed_outcome(task, f"the grading worker process died twice while "
                                                                f"grading this entry (exit code {code})."))
                        elif not s.ready:
                            raise BatchError(f"a grading worker exited while starting (exit code {code}).")
                        self.restarts += 1
                        if self.restarts > 3 * self.n + len(tasks):
                            raise BatchError("grading workers keep dying; stopping. Check memory and the logs.")
                        self.slots[i] = self._spawn()
                        continue
                    if s.task is not None and now - s.started > self.task_timeout:
                        task = s.task
                        self._kill(s)
                        on_outcome(failed_outcome(task, f"grading did not finish within {self.task_timeout:.0f} s; "
                                                        "the worker was stopped. Rerun with a larger --time-scale "
                                                        "if the machine was overloaded."))
                        self.restarts += 1
                        self.slots[i] = self._spawn()
        except BaseException:
            for s in self.slots:  # Ctrl-C or a fatal error: stop at once, do not wait for running tasks
                self._kill(s)
            self.slots = []
            raise
        finally:
            self.close()

    def close(self) -> None:
        """Ask every process to stop, wait up to 10 s in all, then kill the ones still running."""
        for s in self.slots:
            try:
                s.conn.send(None)
            except (OSError, BrokenPipeError, ValueError):
                pass
        deadline = time.monotonic() + 10
        for s in self.slots:
            s.proc.join(timeout=max(0.1, deadline - time.monotonic()))
            if s.proc.is_alive():
                s.proc.kill()
                s.proc.join(timeout=5)
            try:
                s.conn.close()
            except OSError:
                pass
        self.slots = []


# ---------------------------------------------------------------------------
# Dask


class DaskExecutor:
    """Tasks on the Dask cluster whose scheduler is at ``address``.

    Each task runs :func:`grader.batch.task.grade_task` on a worker (its Worker is spawned there,
    its files go to a temporary folder).  A task that raises (or whose worker died twice: Dask
    retries once) gets an error outcome.  If no task finishes for ``task_timeout`` seconds, the
    remaining ones are cancelled and get error outcomes (a cluster without live workers never
    hangs the batch).

    Raises (from :meth:`run`):
        BatchError: ``dask.distributed`` is not installed, the scheduler is unreachable, or no
            worker joins within 120 s.
    """

    def __init__(self, address: str, *, task_timeout: float) -> None:
        self.address = address
        self.task_timeout = task_timeout

    def run(self, tasks: Sequence[Task], on_outcome: OutcomeFn) -> None:
        """Run ``tasks`` on the cluster; see the class docstring."""
        address, task_timeout = self.address, self.task_timeout
        try:
            from distributed import Client, wait
        except ImportError:
            raise BatchError("--scheduler needs dask.distributed: pip install \"grade[dask]\" (or "
                             "pip install \"dask[distributed]\") on this machine and on every worker.") from None
        try:
            client = Client(address, timeout="30s")
        except Exception as e:
            raise BatchError(f"cannot connect to the Dask scheduler at {address}: {e}. Start one with "
                             "`dask scheduler` and workers with `dask worker ADDRESS`.") from None
        try:
            try:
                client.wait_for_workers(1, timeout=120)
            except Exception:
                raise BatchError(f"no Dask worker joined the scheduler at {address} within 120 s. Start workers "
                                 f"with `dask worker {address} --nthreads 1`.") from None
            by_key = {}
            for t in tasks:
                t = dataclasses.replace(t, work_root="", worker_start="spawn")
                fut = client.submit(grade_task, t, key=f"grade-{t.id}-{t.key[:12]}", pure=False, retries=1)
                by_key[fut.key] = (fut, t)
            pending = {fut for fut, _ in by_key.values()}
            last = time.monotonic()
            while pending:
                try:
                    done, _ = wait(list(pending), timeout=2.0, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    done = set()
                now = time.monotonic()
                for fut in done:
                    pending.discard(fut)
                    task = by_key[fut.key][1]
                    try:
                        out = fut.result()
                    except Exception as e:
                        out = failed_outcome(task, f"the Dask task failed: {type(e).__name__}: {e}")
                    on_outcome(out)
                    last = now
                if pending and now - last > task_timeout:
                    for fut in list(pending):
                        fut.cancel()
                        on_outcome(failed_outcome(by_key[fut.key][1], f"no result from the Dask cluster for "
                                                                      f"{task_timeout:.0f} s; are its workers alive?"))
                    pending.clear()
        finally:
            client.close()
