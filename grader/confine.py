"""Confinement installed in the student's process before its code is imported.

Means (standard library and kernel only):

* ``resource.setrlimit``: address space, open files, file size, core dumps,
  CPU seconds, processes;
* a Python audit hook (:func:`sys.addaudithook`; hooks cannot be removed)
  that refuses: new processes (fork, exec, spawn, ``subprocess``,
  ``os.system``), signals to other processes, network sockets, ``ctypes``
  library loading and raw memory access, writes outside the child's fresh
  temporary directory, reads of anything outside the Python installation,
  the submission and the temporary directory (so the grader's
  ``reference/``, specs, hidden cases, other submissions and results are
  unreadable), ``gc`` object scraping, and imports of the grader's
  reference modules;
* the fork-based helpers that skip the audit layer
  (``_posixsubprocess.fork_exec``, ``os.fork``...) are replaced by stubs.

Every refusal raises :class:`PermissionError` in the student's code and is
recorded as a *violation*, which the report shows for instructor review.
"""

from __future__ import annotations

import os
import resource
import sys

__all__ = ["install", "set_limits", "violations", "SandboxViolation"]

violations: list[str] = []


class SandboxViolation(PermissionError):
    """Raised inside the student's process when it does something the sandbox forbids."""


_PROC_EVENTS = {
    "os.fork": "start a new process (os.fork)",
    "os.forkpty": "start a new process (os.forkpty)",
    "os.exec": "run another program (os.exec*)",
    "os.posix_spawn": "start a new process (os.posix_spawn)",
    "os.spawn": "start a new process (os.spawn*)",
    "os.system": "run a shell command (os.system)",
    "subprocess.Popen": "start a subprocess",
    "pty.spawn": "start a process in a pty",
    "socket.__new__": "open a network socket",
    "socket.connect": "connect a socket",
    "socket.bind": "bind a socket",
    "socket.getaddrinfo": "resolve a network address",
    "ctypes.dlopen": "load a native library with ctypes",
    "ctypes.dlsym": "look up native symbols with ctypes",
    "ctypes.cdata": "access raw memory with ctypes",
    "ctypes.call_function": "call a native function through ctypes",
    "gc.get_objects": "scan the interpreter's objects (gc.get_objects)",
    "gc.get_referrers": "scan the interpreter's objects (gc.get_referrers)",
    "gc.get_referents": "scan the interpreter's objects (gc.get_referents)",
    "sys._current_frames": "inspect other threads' frames",
    "sys.addaudithook": "install an audit hook",
    "os.chdir": "change the working directory",
    "os.putenv": "change the environment",
    "os.unsetenv": "change the environment",
    "mmap.__new__": "map memory from a file",
    "resource.setrlimit": "change resource limits",
    "resource.prlimit": "change resource limits",
}

_WRITE_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink",
                 "os.link", "os.truncate", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.move",
                 "os.chflags", "os.setxattr", "os.removexattr"}
_READ_EVENTS = {"os.listdir", "os.scandir", "glob.glob", "os.walk"}

_BLOCKED_IMPORTS = ("reference", "grade_specs", "grade_reference", "sklearn", "torchmetrics")


def _norm(p) -> str | None:
    if isinstance(p, int):
        return None
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    if not isinstance(p, str):
        try:
            p = os.fspath(p)
        except TypeError:
            return None
        if isinstance(p, bytes):
            p = os.fsdecode(p)
    return os.path.realpath(p)


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r + os.sep) or r == os.sep for r in roots)


def set_limits(*, memory_mb: int | None, open_files: int, file_mb: int = 64, cpu_seconds: float | None = None) -> None:
    """Apply rlimits to the current process (the student's child).

    ``memory_mb`` is added to the address space already mapped (torch maps a
    lot up front); ``None`` leaves the address space unlimited (used for CUDA
    runs, whose driver reserves huge virtual ranges; the parent then watches
    the resident set instead).
    """

    def lim(res, value):
        try:
            soft, hard = resource.getrlimit(res)
            v = int(value)
            if hard != resource.RLIM_INFINITY:
                v = min(v, hard)
            resource.setrlimit(res, (v, v))
        except (ValueError, OSError):
            pass

    lim(resource.RLIMIT_CORE, 0)
    lim(resource.RLIMIT_NOFILE, open_files)
    lim(resource.RLIMIT_FSIZE, file_mb << 20)
    if memory_mb is not None:
        try:
            with open("/proc/self/status") as f:
                vm = next(int(line.split()[1]) for line in f if line.startswith("VmSize:"))
            lim(resource.RLIMIT_AS, vm * 1024 + (memory_mb << 20))
        except (OSError, StopIteration, ValueError):
            pass
    if cpu_seconds is not None:
        try:
            resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_seconds) + 1, int(cpu_seconds) + 3))
        except (ValueError, OSError):
            pass


def _blocked(what: str):
    def stub(*args, **kwargs):
        msg = f"grade sandbox: not allowed to {what}"
        violations.append(msg)
        raise SandboxViolation(msg)

    stub.__name__ = "blocked"
    return stub


def install(*, tmpdir: str, read_roots: tuple[str, ...], deny_roots: tuple[str, ...] = (),
            allow_cuda: bool = False) -> None:
    """Install the audit hook and neutralise the process-spawning primitives.

    Args:
        tmpdir: the only directory the student's code may write in.
        read_roots: directories it may read (Python installation, its own submission).
        deny_roots: directories it may never read, even below a read root.
        allow_cuda: allow what the CUDA runtime needs (/dev/nvidia*).
    """
    tmp = os.path.realpath(tmpdir)
    reads = tuple(os.path.realpath(r) for r in read_roots) + (tmp, "/dev", "/proc/self", "/sys", "/etc",
                                                              "/usr/share/zoneinfo")
    denies = tuple(os.path.realpath(d) for d in deny_roots if d)
    writable = (tmp, "/dev/null")
    me = os.getpid()

    def refuse(what: str):
        msg = f"grade sandbox: not allowed to {what}"
        violations.append(msg)
        raise SandboxViolation(msg)

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path = _norm(args[0])
            if path is None:
                return
            mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            write = any(c in mode for c in "wax+") or bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT
                                                                    | os.O_APPEND | os.O_TRUNC))
            if denies and _under(path, denies):
                refuse(f"read {path} (grader files are off limits)")
            if write:
                if not _under(path, writable) and not (allow_cuda and path.startswith("/dev/nvidia")):
                    refuse(f"write {path} (only the temporary directory {tmp} is writable)")
            elif not _under(path, reads):
                refuse(f"read {path} (outside the submission and the Python installation)")
            return
        if event in _PROC_EVENTS:
            if event == "os.putenv" or event == "os.unsetenv":
                return
            refuse(_PROC_EVENTS[event])
        if event in ("os.kill", "os.killpg"):
            pid = args[0] if args else None
            if event == "os.kill" and pid in (me, 0) and pid != 0:
                return
            refuse("send signals to other processes")
        if event == "signal.pthread_kill":
            return
        if event in _WRITE_EVENTS:
            for a in args[:2]:
                path = _norm(a)
                if path is not None and not _under(path, (tmp,)):
                    refuse(f"modify {path} (only {tmp} is writable)")
            return
        if event in _READ_EVENTS:
            path = _norm(args[0]) if args else None
            if path is not None and ((denies and _under(path, denies)) or not _under(path, reads)):
                refuse(f"list {path}")
            return
        if event == "import":
            name = args[0] if args else ""
            if isinstance(name, str) and any(name == b or name.startswith(b + ".") for b in _BLOCKED_IMPORTS):
                if name.split(".")[0] in ("sklearn", "torchmetrics"):
                    return  # banned per assignment, reported by the guard, not a sandbox matter
                refuse(f"import {name}")

    # Replace fork primitives that do not raise audit events of their own.
    try:
        import _posixsubprocess

        _posixsubprocess.fork_exec = _blocked("start a subprocess")
    except ImportError:  # pragma: no cover
        pass
    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "execv", "execve", "execl",
                 "execlp", "execvp", "execvpe", "spawnv", "spawnve", "spawnl", "spawnle", "kill", "killpg",
                 "setsid", "setpgid", "setuid", "setgid", "nice", "sched_setaffinity", "register_at_fork"):
        if hasattr(os, name):
            setattr(os, name, _blocked(f"call os.{name}"))
    sys.addaudithook(hook)
