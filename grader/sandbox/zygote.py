"""The worker ("zygote"): a process with torch imported that forks one child per job.

It is forked from the grader right after ``import torch`` (or spawned as
``python -m grader.sandbox.zygote FD`` when the grader already holds reference code
in memory), pins torch to one intra-op thread so that forked children never
deadlock in OpenMP, and then serves requests on a ``SOCK_SEQPACKET`` socket:

* ``{"cmd": "fork"}`` with four or five file descriptors (request read end,
  result write end, stdout, stderr, and the shared input region): fork a
  child in its own process group, answer ``{"pid": PID}``;
* when a child ends: ``{"exit": PID, "status": wait status}``, after killing
  whatever the child left behind (its process group, and any orphan that was
  re-parented to the worker, which is a child subreaper).

The worker never imports student code and never holds reference code.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys

PR_SET_CHILD_SUBREAPER = 36


def _subreaper() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except Exception:  # pragma: no cover - best effort
        pass


def _kill_orphans(children: set[int]) -> None:
    me = os.getpid()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for e in entries:
        if not e.isdigit():
            continue
        pid = int(e)
        if pid in children:
            continue
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == me:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _close_all_but(keep: set[int]) -> None:
    """Close every file descriptor of this process except ``keep``.

    The student's process must hold nothing but its own channels: whatever
    the grader had open when the zygote was forked (a batch pool's pipe to
    its coordinator, a test runner's files, sockets) would otherwise be
    reachable by ``os.write(fd, ...)`` from student code.
    """
    try:
        fds = [int(x) for x in os.listdir("/proc/self/fd")]
    except OSError:  # pragma: no cover - no /proc: close a generous range
        fds = list(range(3, 1024))
    for fd in fds:
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _send(sock: socket.socket, msg: dict) -> bool:
    try:
        sock.send(json.dumps(msg).encode())
        return True
    except OSError:
        return False


def _reap(sock: socket.socket, children: set[int]) -> bool:
    ended = False
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == 0:
            break
        if pid in children:
            children.discard(pid)
            ended = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            _send(sock, {"exit": pid, "status": status})
    if ended:
        _kill_orphans(children)
    return ended


def _warm_up() -> None:
    """Import lazily-loaded machinery (dispatch modes, traceback) once, here,
    so each child neither pays for it nor trips the sandbox doing it."""
    import torch

    from grader.sandbox.inside.guard import Guard

    x = torch.ones(2, 3, dtype=torch.float64)
    with Guard(banned=("torch.softmax",), banned_ops=("aten::_softmax",)):
        (x.exp() / x.exp().sum(-1, keepdim=True)).max(-1)
    torch.einsum("ij,kj->ik", x, x)
    torch.meshgrid(torch.arange(2), torch.arange(3), indexing="ij")
    torch.from_numpy(x.numpy()).unfold(1, 2, 1)
    torch.where(x > 0)
    torch.bernoulli(torch.full((2,), 0.5))
    import numpy  # noqa: F401
    import torch.nn.functional  # noqa: F401

    _preload_libraries()
    import grader.judge.trajectory  # noqa: F401 - what a child needs for trajectory cases
    import grader.sandbox.protocol  # noqa: F401
    import grader.spec  # noqa: F401
    try:
        raise ValueError("warm-up")
    except ValueError as e:
        import traceback

        traceback.StackSummary.extract(traceback.walk_tb(e.__traceback__), lookup_lines=False)


def _slow_warm_up() -> list:
    """Warm-up steps that import hundreds of modules, for a zygote that will fork many children (a
    batch): they inherit them. A one-submission check skips them (no reference needs them): a child
    that uses one pays for it on its first call, within the first call's grace
    (``grader.spec.Limits``), as a student running it at home would."""
    import torch

    def broadcast() -> None:  # torch.broadcast_shapes pulls in sympy and torch.fx: ~500 modules
        torch.broadcast_shapes((2, 1), (1, 3))

    return [broadcast]


def _preload_libraries() -> None:
    """Import the libraries whose banned C routines a child wraps before the student's code runs
    (:data:`grader.sandbox.inside.guard_tables.PRELOAD`, ~0.15 s): once here, while the grader loads
    its catalog, instead of in every child whose banned list names one."""
    import importlib
    import importlib.util

    from grader.sandbox.inside.guard_tables import PRELOAD

    for lib in PRELOAD:
        try:
            if importlib.util.find_spec(lib.split(".")[0]) is not None:
                importlib.import_module(lib)
        except Exception:  # noqa: BLE001 - a broken install: the child copes
            pass


def serve(sock: socket.socket, *, warm: bool = False) -> None:
    """Serve fork requests until the grader closes its end; never returns.

    Args:
        sock: the grader's end of the request socket.
        warm: also run the slow warm-up steps (:func:`_slow_warm_up`) first, for a batch.
    """
    import torch

    import grader.sandbox.inside.child  # noqa: F401 - preload so children start instantly

    torch.set_num_threads(1)
    _warm_up()
    for step in _slow_warm_up() if warm else ():
        try:
            step()
        except Exception:  # noqa: BLE001 - a warm-up step that fails only costs its time later
            pass
    _subreaper()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # SIGCHLD wakes the select() below through a self-pipe: exits are reported at once.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: set[int] = set()
    try:
        while True:
            try:
                ready, _, _ = select.select([sock, wake_r], [], [], 1.0)
            except InterruptedError:
                continue
            if wake_r in ready:
                try:
                    while os.read(wake_r, 4096):
                        pass
                except BlockingIOError:
                    pass
            _reap(sock, children)
            if sock not in ready:
                continue
            try:
                msg, fds, _, _ = socket.recv_fds(sock, 1 << 16, 8)
            except OSError:
                break
            if not msg:
                break
            req = json.loads(msg)
            if req.get("cmd") == "ping":
                _send(sock, {"pong": os.getpid()})
                continue
            if req.get("cmd") != "fork" or len(fds) not in (4, 5):
                for fd in fds:
                    os.close(fd)
                _send(sock, {"error": "bad request"})
                continue
            pid = os.fork()
            if pid == 0:  # the student's process
                try:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    os.close(wake_r)
                    os.close(wake_w)
                    sock.close()
                    os.setpgid(0, 0)
                    signal.signal(signal.SIGINT, signal.SIG_DFL)
                    req_r, res_w, out_w, err_w = fds[:4]
                    region_fd = fds[4] if len(fds) == 5 else -1
                    null = os.open(os.devnull, os.O_RDONLY)
                    os.dup2(null, 0)
                    os.dup2(out_w, 1)
                    os.dup2(err_w, 2)
                    for fd in (null, out_w, err_w):
                        os.close(fd)
                    _close_all_but({0, 1, 2, req_r, res_w, region_fd})
                    from grader.sandbox.inside.child import main

                    main(req_r, res_w, region_fd)
                finally:
                    os._exit(4)
            for fd in fds:
                os.close(fd)
            children.add(pid)
            _send(sock, {"pid": pid})
    finally:
        for pid in list(children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        _reap(sock, children)
        os._exit(0)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    fd = int(argv[0])
    sock = socket.socket(fileno=fd)
    serve(sock, warm="--warm" in argv[1:])


if __name__ == "__main__":
    main()
