"""The grading worker: a zygote process that forks one sandboxed child per session.

:class:`Worker` owns a *zygote* (:mod:`grader.sandbox.zygote`): a process that
has torch imported (and its lazily imported machinery warmed) and forks one
child per :class:`~grader.sandbox.session.Session`, so isolation costs
milliseconds rather than an ``import torch``. The zygote never imports
student code and never holds reference code.

The per-session protocol, limits and deadlines live in
:mod:`grader.sandbox.session`.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path


__all__ = ["Worker", "describe_exit", "python_read_roots", "library_dirs"]


def describe_exit(status: int | None) -> str:
    """Human description of a wait status: ``"killed by SIGSEGV (segmentation fault)"``."""
    if status is None:
        return "ended (status unknown)"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        why = {
            "SIGSEGV": " (segmentation fault: the process crashed)",
            "SIGABRT": " (aborted)",
            "SIGXCPU": " (CPU time limit exceeded)",
            "SIGXFSZ": " (file size limit exceeded)",
            "SIGKILL": " (killed: often the system running out of memory)",
            "SIGBUS": " (bus error: the process crashed)",
            "SIGFPE": " (arithmetic error: the process crashed)",
        }.get(name, "")
        return f"killed by {name}{why}"
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
        return f"exited with code {code}"
    return f"ended with wait status {status}"


def python_read_roots() -> tuple[str, ...]:
    """Directories of the Python installation the student's code may read (stdlib, site-packages)."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            roots.add(p)
    try:
        import site

        roots.update(site.getsitepackages())
        roots.add(site.getusersitepackages())
    except Exception:  # pragma: no cover
        pass
    for mod in ("torch", "numpy"):
        m = sys.modules.get(mod)
        if m is not None and getattr(m, "__file__", None):
            roots.add(os.path.dirname(os.path.dirname(m.__file__)))
    return tuple(sorted(os.path.realpath(r) for r in roots if r))


def library_dirs() -> tuple[str, ...]:
    """Directories whose internal calls do not count as the student's: every site-packages
    (torch, numpy, sympy, sklearn...), but not the standard library."""
    import importlib.util
    import site

    out = []
    try:
        out.extend(site.getsitepackages())
    except Exception:  # pragma: no cover
        pass
    for name in ("torch", "numpy", "sklearn", "torchmetrics", "scipy"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            out.extend(spec.submodule_search_locations)
    return tuple(os.path.realpath(p) for p in out)


class Worker:
    """A zygote that forks sandboxed children (one per :class:`~grader.sandbox.session.Session`).

    Args:
        start: ``"fork"`` (fork this process: fast, only safe before reference
            code is loaded), ``"spawn"`` (start ``python -m grader.sandbox.zygote``),
            or ``"auto"`` (fork unless a module from ``secret_roots`` is loaded).
        secret_roots: directories whose modules must never be inherited by a
            student's process (``reference/``).
        warm: also import what only some submissions use (``torch.broadcast_shapes``'s
            sympy, ~1 s) once in the zygote: worth it for a batch, not for one check.
            (``scipy.special``, which the guard wraps before the student's code, is
            always imported there.)

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, *, start: str = "auto", secret_roots: tuple[str, ...] = (), warm: bool = False) -> None:
        if start not in ("auto", "fork", "spawn"):
            raise ValueError(f"start must be auto, fork or spawn, not {start!r}")
        self.start_method = start
        self.secret_roots = tuple(os.path.realpath(r) for r in secret_roots)
        self.warm = warm
        self._sock: socket.socket | None = None
        self._pid: int | None = None
        self._proc: subprocess.Popen | None = None
        self._exits: dict[int, int] = {}
        self._ignored: set[int] = set()
        self._lock = threading.RLock()
        self.library_dirs = library_dirs()
        self.read_roots = python_read_roots()

    # -- lifecycle --------------------------------------------------------
    def _secret_loaded(self) -> bool:
        if not self.secret_roots:
            return False
        for m in list(sys.modules.values()):
            f = getattr(m, "__file__", None)
            if f and any(os.path.realpath(f).startswith(r + os.sep) for r in self.secret_roots):
                return True
        return False

    def start(self) -> "Worker":
        if self._sock is not None:
            return self
        method = self.start_method
        if method == "auto":
            method = "spawn" if self._secret_loaded() else "fork"
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if method == "fork":
            import torch  # noqa: F401 - the zygote inherits it

            import grader.sandbox.inside.child  # noqa: F401

            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                try:
                    parent.close()
                    os.setpgid(0, 0)
                    null = os.open(os.devnull, os.O_RDWR)
                    os.dup2(null, 0)
                    from grader.sandbox.zygote import serve

                    serve(child, warm=self.warm)
                finally:
                    os._exit(1)
            self._pid = pid
        else:
            env = dict(os.environ)
            root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
            self._proc = subprocess.Popen([sys.executable, "-m", "grader.sandbox.zygote", str(child.fileno())]
                                          + (["--warm"] if self.warm else []),
                                          pass_fds=[child.fileno()], stdin=subprocess.DEVNULL,
                                          start_new_session=True, env=env, cwd=tempfile.gettempdir())
            self._pid = self._proc.pid
        child.close()
        self._sock = parent
        self.method = method
        atexit.register(self.close)
        return self

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            sock.close()
        except OSError:
            pass
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        elif self._pid is not None:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    pid, _ = os.waitpid(self._pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid:
                    break
                time.sleep(0.01)
            else:
                try:
                    os.kill(self._pid, signal.SIGKILL)
                    os.waitpid(self._pid, 0)
                except (OSError, ChildProcessError):
                    pass

    def __enter__(self) -> "Worker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        if self._sock is None or self._pid is None:
            return False
        if self._proc is not None:
            return self._proc.poll() is None
        try:
            pid, _ = os.waitpid(self._pid, os.WNOHANG)
            return pid == 0
        except ChildProcessError:
            return False

    def _restart(self) -> None:
        self.close()
        self._sock = None
        self.start()

    # -- zygote messages ----------------------------------------------------
    def _recv(self, timeout: float) -> dict | None:
        assert self._sock is not None
        self._sock.settimeout(timeout)
        try:
            msg = self._sock.recv(1 << 16)
        except (socket.timeout, BlockingIOError):
            return None
        finally:
            self._sock.settimeout(None)
        if not msg:
            raise ConnectionError("the grading worker ended unexpectedly")
        return json.loads(msg)

    def _fork(self, fds: list[int]) -> int:
        with self._lock:
            return self._fork_locked(fds)

    def _fork_locked(self, fds: list[int]) -> int:
        if not self.alive:
            self._restart()
        assert self._sock is not None
        try:
            socket.send_fds(self._sock, [json.dumps({"cmd": "fork"}).encode()], fds)
        except OSError:
            self._restart()
            socket.send_fds(self._sock, [json.dumps({"cmd": "fork"}).encode()], fds)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = self._recv(max(0.01, deadline - time.monotonic()))
            if msg is None:
                continue
            if "exit" in msg:
                if msg["exit"] in self._ignored:
                    self._ignored.discard(msg["exit"])
                else:
                    self._exits[msg["exit"]] = msg["status"]
            elif "pid" in msg:
                return int(msg["pid"])
            elif "error" in msg:
                raise RuntimeError(f"grading worker refused the job: {msg['error']}")
        raise TimeoutError("the grading worker did not start a child within 30 s")

    def _wait_exit(self, pid: int, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if pid in self._exits:
                    break
                try:
                    msg = self._recv(0.005)
                except (ConnectionError, OSError):
                    break
                if msg and "exit" in msg:
                    if msg["exit"] in self._ignored:
                        self._ignored.discard(msg["exit"])
                    else:
                        self._exits[msg["exit"]] = msg["status"]
        with self._lock:
            return self._exits.pop(pid, None)

    def _forget_exit(self, pid: int) -> None:
        with self._lock:
            if self._exits.pop(pid, None) is None:
                self._ignored.add(pid)

    # -- sessions ---------------------------------------------------------------
    def session(self, setup: dict, *, memory_mb: int, output_bytes: int, region_size: int):
        """A new :class:`~grader.sandbox.session.Session` (not yet opened) running ``setup``'s module."""
        from grader.sandbox.session import Session

        return Session(self, setup, memory_mb=memory_mb, output_bytes=output_bytes, region_size=region_size)
