"""Run student code in a child process with limits; collect decoded results.

:class:`Worker` owns a *zygote* (:mod:`grader.sandbox.zygote`): a process that has
torch imported and forks one child per job, so isolation costs milliseconds
rather than an ``import torch``.  A job is "import this module, run this
function on these inputs"; the grader enforces, from outside the child:

* wall time per case (from the last sign of progress) and for the import;
* resident memory (polled), on top of the child's own ``RLIMIT_AS``;
* captured stdout/stderr (the first ``output_bytes`` kept, the rest counted);
* the size of what the child sends back.

When a limit is hit the child's whole process group is killed; the job's
:class:`JobOutcome` says which limit and where.  Nothing from the child is
unpickled or executed: results are :mod:`grader.sandbox.wire` frames.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.sandbox import wire

__all__ = ["Worker", "JobOutcome", "describe_exit", "python_read_roots", "library_dirs"]

MAX_RESULT_BYTES = 512 << 20


@dataclass
class JobOutcome:
    """What happened to one job (one function of one submission).

    Attributes:
        imported: the module's top-level code ran to completion.
        yielded_at: the child stopped cleanly before this run index because its
            process was no longer clean (a thread left running); the grader
            continues in a fresh child.
        import_error: the child's ``import_error`` event meta, if any.
        results: run index -> (meta, decoded value) for each run that reported.
        stopped: why the grader stopped the child early: ``"timeout"``,
            ``"memory"``, ``"output"``, ``"protocol"``, or None.
        stopped_at: run index that was running when stopped (-1: the import).
        limit_s: the wall limit that was exceeded (seconds).
        exit_status: raw wait status of the child, if known.
        stdout / stderr: captured output (first ``output_bytes`` bytes of each).
        stdout_dropped / stderr_dropped: bytes printed beyond the cap.
        peak_rss_mb: largest resident set seen (MiB), beyond the fork baseline.
        seconds: wall time of the job.
    """

    imported: bool = False
    import_error: dict | None = None
    results: dict[int, tuple[dict, Any]] = field(default_factory=dict)
    done: bool = False
    yielded_at: int | None = None
    stopped: str | None = None
    stopped_at: int | None = None
    limit_s: float | None = None
    exit_status: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""
    stdout_dropped: int = 0
    stderr_dropped: int = 0
    peak_rss_mb: float = 0.0
    seconds: float = 0.0

    @property
    def exit_description(self) -> str:
        return describe_exit(self.exit_status)


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


def _rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class Worker:
    """A zygote plus the parent-side protocol to run jobs in forked children.

    Args:
        start: ``"fork"`` (fork this process: fast, only safe before reference
            code is loaded), ``"spawn"`` (start ``python -m grader.sandbox.zygote``),
            or ``"auto"`` (fork unless a module from ``secret_roots`` is loaded).
        secret_roots: directories whose modules must never be inherited by a
            student's process (``reference/``).

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, *, start: str = "auto", secret_roots: tuple[str, ...] = ()) -> None:
        if start not in ("auto", "fork", "spawn"):
            raise ValueError(f"start must be auto, fork or spawn, not {start!r}")
        self.start_method = start
        self.secret_roots = tuple(os.path.realpath(r) for r in secret_roots)
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

                    serve(child)
                finally:
                    os._exit(1)
            self._pid = pid
        else:
            env = dict(os.environ)
            root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
            self._proc = subprocess.Popen([sys.executable, "-m", "grader.sandbox.zygote", str(child.fileno())],
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

    # -- jobs -----------------------------------------------------------------
    def run_job(self, meta: dict, value: Any, *, import_limit: float, run_limits: list[float],
                memory_mb: int, output_bytes: int) -> JobOutcome:
        """Fork a child, send it ``(meta, value)``, and watch it until it ends.

        Args:
            meta: request for :func:`grader.sandbox.inside.child.main` (``sandbox.tmpdir`` is filled in here).
            value: the inputs, ``{run key: {"args": ..., "kwargs": ...}}``.
            import_limit: wall seconds for the module's top-level code.
            run_limits: wall seconds for each run, in order.
            memory_mb: resident memory allowed beyond the child's start, MiB.
            output_bytes: stdout/stderr bytes kept per stream.
        """
        return self._run_job(meta, value, import_limit=import_limit, run_limits=run_limits,
                             memory_mb=memory_mb, output_bytes=output_bytes)

    def _run_job(self, meta, value, *, import_limit, run_limits, memory_mb, output_bytes) -> JobOutcome:
        tmp = tempfile.mkdtemp(prefix="grade-run-")
        meta = dict(meta)
        meta["sandbox"] = dict(meta.get("sandbox", {}), tmpdir=tmp,
                               read_roots=list(self.read_roots) + list(meta.get("sandbox", {}).get("read_roots", [])),
                               library_dirs=list(self.library_dirs))
        frame = wire.encode(value, meta)
        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        outcome = JobOutcome()
        t0 = time.monotonic()
        try:
            pid = self._fork([req_r, res_w, out_w, err_w])
        finally:
            for fd in (req_r, res_w, out_w, err_w):
                os.close(fd)

        def feed() -> None:
            try:
                view = memoryview(frame)
                while view:
                    n = os.write(req_w, view[: 1 << 20])
                    view = view[n:]
            except OSError:
                pass
            finally:
                os.close(req_w)

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        try:
            self._watch(pid, outcome, res_r, out_r, err_r, import_limit, run_limits, memory_mb, output_bytes)
        finally:
            for fd in (res_r, out_r, err_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            if outcome.done and outcome.stopped is None:
                self._forget_exit(pid)  # ended cleanly; its exit status is not needed
            else:
                outcome.exit_status = self._wait_exit(pid, 5.0)
            writer.join(timeout=5)
            shutil.rmtree(tmp, ignore_errors=True)
            outcome.seconds = time.monotonic() - t0
        return outcome

    def _watch(self, pid, outcome: JobOutcome, res_r, out_r, err_r, import_limit, run_limits, memory_mb,
               output_bytes) -> None:
        sel = selectors.DefaultSelector()
        for fd in (res_r, out_r, err_r):
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        buf = bytearray()
        total = 0
        streams = {out_r: bytearray(), err_r: bytearray()}
        dropped = {out_r: 0, err_r: 0}
        current = -1
        deadline = time.monotonic() + import_limit
        limit = import_limit
        rss0 = None
        next_poll = 0.0
        res_open = True
        while res_open:
            now = time.monotonic()
            timeout = max(0.0, min(deadline - now, 0.05))
            for key, _ in sel.select(timeout):
                fd = key.fd
                try:
                    data = os.read(fd, 1 << 20)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(fd)
                    if fd == res_r:
                        res_open = False
                    continue
                if fd == res_r:
                    buf += data
                    total += len(data)
                    if total > MAX_RESULT_BYTES:
                        outcome.stopped, outcome.stopped_at = "output", current
                        return
                    try:
                        for fmeta, fval in _parse_frames(buf):
                            ev = fmeta.get("event")
                            if ev == "imported":
                                outcome.imported = True
                                current = 0
                            elif ev == "import_error":
                                outcome.import_error = fmeta
                            elif ev == "result":
                                i = int(fmeta.get("i", -1))
                                outcome.results[i] = (fmeta, fval)
                                current = i + 1
                            elif ev == "done":
                                outcome.done = True
                            elif ev == "yield":
                                outcome.yielded_at = int(fmeta.get("next", -1))
                                outcome.done = True
                            else:
                                continue
                            limit = run_limits[current] if 0 <= current < len(run_limits) else import_limit
                            deadline = time.monotonic() + limit
                    except wire.WireError:
                        outcome.stopped, outcome.stopped_at = "protocol", current
                        return
                else:
                    keep = streams[fd]
                    room = output_bytes - len(keep)
                    if room > 0:
                        keep += data[:room]
                    dropped[fd] += max(0, len(data) - max(room, 0))
            now = time.monotonic()
            if res_open and now > deadline and not outcome.done:
                outcome.stopped, outcome.stopped_at, outcome.limit_s = "timeout", current, limit
                break
            if now >= next_poll:
                next_poll = now + 0.05
                rss = _rss_kb(pid)
                if rss is not None:
                    if rss0 is None:
                        rss0 = rss
                    extra_mb = (rss - rss0) / 1024
                    outcome.peak_rss_mb = max(outcome.peak_rss_mb, extra_mb)
                    if extra_mb > memory_mb:
                        outcome.stopped, outcome.stopped_at, outcome.limit_s = "memory", current, None
                        break
        # Drain what is left of stdout/stderr without waiting on stragglers.
        end = time.monotonic() + 0.2
        while sel.get_map() and time.monotonic() < end:
            events = sel.select(0.02)
            if not events:
                break
            for key, _ in events:
                fd = key.fd
                if fd == res_r:
                    sel.unregister(fd)
                    continue
                try:
                    data = os.read(fd, 1 << 20)
                except (BlockingIOError, OSError):
                    data = b""
                if not data:
                    sel.unregister(fd)
                    continue
                keep = streams[fd]
                room = output_bytes - len(keep)
                if room > 0:
                    keep += data[:room]
                dropped[fd] += max(0, len(data) - max(room, 0))
        sel.close()
        outcome.stdout, outcome.stderr = bytes(streams[out_r]), bytes(streams[err_r])
        outcome.stdout_dropped, outcome.stderr_dropped = dropped[out_r], dropped[err_r]


_HEAD = struct.Struct("<4sIQ")


def _parse_frames(buf: bytearray):
    """Yield complete frames from ``buf`` (consuming them); raise WireError on garbage."""
    while len(buf) >= _HEAD.size:
        magic, hlen, plen = _HEAD.unpack_from(buf, 0)
        if magic != wire.MAGIC or hlen > wire.MAX_HEADER or plen > wire.MAX_PAYLOAD:
            raise wire.WireError("corrupt result stream")
        end = _HEAD.size + hlen + plen
        if len(buf) < end:
            return
        header = bytes(buf[_HEAD.size:_HEAD.size + hlen])
        payload = bytes(buf[_HEAD.size + hlen:end])
        del buf[:end]
        yield wire.decode(header, payload)
