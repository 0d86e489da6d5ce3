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

from builtins import (Exception, ImportError, OSError, PermissionError, StopIteration, TypeError,  # noqa: A004
                      ValueError, any, bool, bytes, callable, dict, float, getattr, hasattr, int, isinstance, len,
                      list, min, next, open, setattr, str, tuple, type)  # (see guard.py: bound at import)

import os
import resource
import sys
from types import MappingProxyType

from grader.sandbox.inside import ledger as _ledger
from grader.sandbox.inside.kernel import landlock, landlock_abi, seccomp

__all__ = ["SandboxViolation", "install", "landlock", "landlock_abi", "seal", "seccomp", "set_limits", "violations"]

violations: list[str] = []


class SandboxViolation(PermissionError):
    """Raised inside the student's process when it does something the sandbox forbids."""


_PROC_EVENTS = MappingProxyType({
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
})

_WRITE_EVENTS = frozenset({"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink",
                 "os.link", "os.truncate", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.move",
                 "os.chflags", "os.setxattr", "os.removexattr"})
_READ_EVENTS = frozenset({"os.listdir", "os.scandir", "glob.glob", "os.walk"})
#: Every event the confinement hook acts on; it returns at once for the others.
_HOOK_EVENTS = frozenset({"exec", "open", "os.kill", "os.killpg", "signal.pthread_kill", "import", *_PROC_EVENTS,
                          *_WRITE_EVENTS, *_READ_EVENTS})

# System font folders: matplotlib lists them when it builds its font cache (in the sandbox, at
# every first import: HOME is a fresh folder).
_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/usr/share/X11/fonts", "/usr/X11R6/lib/X11/fonts",
              "/usr/lib/X11/fonts", "/usr/X11/lib/X11/fonts", "/usr/lib/openoffice/share/fonts",
              "/usr/share/texmf/fonts", "/usr/share/texlive/texmf-dist/fonts")

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


def _register_at_fork_noop(*, before=None, after_in_child=None, after_in_parent=None) -> None:
    """``os.register_at_fork`` inside the sandbox: accepted and ignored (no fork can happen)."""
    for f in (before, after_in_child, after_in_parent):
        if f is not None and not callable(f):
            raise TypeError("register_at_fork: arguments must be callable")
    if before is None and after_in_child is None and after_in_parent is None:
        raise TypeError("At least one argument is required.")


def _own_module(top: str, own_dirs: tuple[str, ...]) -> bool:
    """Whether module ``top`` would be found in one of the submission's own folders."""
    return any(os.path.isfile(os.path.join(d, top + ".py")) or os.path.isfile(os.path.join(d, top, "__init__.py"))
               for d in own_dirs)


def _blocked(what: str):
    def stub(*args, **kwargs):
        msg = f"grade sandbox: not allowed to {what}"
        violations.append(msg)
        raise SandboxViolation(msg)

    stub.__name__ = "blocked"
    return stub


def install(*, tmpdir: str, read_roots: tuple[str, ...], deny_roots: tuple[str, ...] = (),
            allow_cuda: bool = False, use_landlock: bool = True) -> int:
    """Install the audit hook and neutralise the process-spawning primitives.

    Args:
        tmpdir: the only directory the student's code may write in.
        read_roots: directories it may read (Python installation, its own submission).
        deny_roots: directories it may never read, even below a read root.
        allow_cuda: allow what the CUDA runtime needs (/dev/nvidia*).
        use_landlock: also ask the kernel (Landlock) to enforce the file-system
            rules, for native code that opens files without Python.

    Returns:
        The Landlock ABI in force (0: audit hook only).
    """
    tmp = os.path.realpath(tmpdir)
    py_roots = tuple(os.path.realpath(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix})
    own_dirs = tuple(r for r in (os.path.realpath(r) for r in read_roots if os.path.isdir(r))
                     if not _under(r, py_roots))  # the submission's folder, not the Python installation
    reads = tuple(os.path.realpath(r) for r in read_roots) + (tmp, "/dev", "/proc/self", "/sys", "/etc",
                                                              "/usr/share/zoneinfo") + _FONT_DIRS
    denies = tuple(os.path.realpath(d) for d in deny_roots if d)
    writable = (tmp, "/dev/null")
    me = os.getpid()

    def refuse(what: str):
        msg = f"grade sandbox: not allowed to {what}"
        violations.append(msg)
        raise SandboxViolation(msg)

    gate = [False]

    std = os.path.dirname(os.__file__)
    not_student = _library_dirs() + tuple(os.path.join(p, "") for p in dict.fromkeys((std, os.path.realpath(std)))) \
        + (os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))), ""),)

    def hook(event: str, args: tuple) -> None:
        if event not in _HOOK_EVENTS:
            return  # (first: most events, e.g. every frame.f_code read under the guard's profiler, are not ours)
        if gate[0]:
            return  # one of the grader's own sealing steps below (seal() discards them before student code)
        if event == "exec" and not _sealed and _seal_steps:
            # The first code compiled from a file outside the installation and the grader is the
            # student's: seal now if the child has not (the child normally calls seal() itself).
            fn = getattr(args[0], "co_filename", None) if args else None
            if isinstance(fn, str) and fn and not fn.startswith("<") and not fn.startswith(not_student):
                try:
                    seal(student_files=(fn,))
                except Exception as e:  # pragma: no cover - never stop the run for this
                    violations.append(f"grade sandbox: sealing failed ({type(e).__name__}: {e})")
            return
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
                top = name.split(".")[0]
                if top in ("sklearn", "torchmetrics"):
                    return  # banned per assignment, reported by the guard, not a sandbox matter
                if _own_module(top, own_dirs):
                    return  # the submission's own helper (a `reference.py` beside the notebook)
                refuse(f"import {name}")

    # Replace fork primitives that do not raise audit events of their own.
    try:
        import _posixsubprocess

        _posixsubprocess.fork_exec = _blocked("start a subprocess")
    except ImportError:  # pragma: no cover
        pass
    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "execv", "execve", "execl",
                 "execlp", "execvp", "execvpe", "spawnv", "spawnve", "spawnl", "spawnle", "kill", "killpg",
                 "setsid", "setpgid", "setuid", "setgid", "nice", "sched_setaffinity"):
        if hasattr(os, name):
            setattr(os, name, _blocked(f"call os.{name}"))
    # Libraries register fork handlers at import (logging, random, concurrent.futures, matplotlib's
    # font cache, tqdm): with forking refused the handlers can never run, so registering one is a
    # harmless no-op, not an error.
    if hasattr(os, "register_at_fork"):
        os.register_at_fork = _register_at_fork_noop
    abi = 0
    if use_landlock:
        sys_roots = ("/usr", "/lib", "/lib64", "/bin", "/etc", "/proc", "/sys", "/dev")
        own = tuple(os.path.realpath(r) for r in read_roots)
        kernel_reads = tuple(r for r in dict.fromkeys(own + sys_roots) if os.path.exists(r))
        # Landlock only allows; it cannot carve a denied folder out of an allowed one.
        if not any(_under(d, kernel_reads) for d in denies):
            abi = landlock(read=kernel_reads, write=(tmp,), devices_rw=allow_cuda)
        seccomp()
    def add_hook(h) -> None:
        gate[0] = True
        try:
            sys.addaudithook(h)
        finally:
            gate[0] = False

    sys.addaudithook(hook)
    _seal_steps.update(add_hook=add_hook)
    global _installed
    _installed = True
    return abi


#: Exit status of a child whose grader code was modified (the channel is no longer trusted): "banned".
from grader.sandbox.protocol import TAMPER_EXIT  # noqa: E402 - shared with the grader side

_sealed: dict = {}
_installed = False
_seal_steps: dict = {}  # install() -> seal(): the only privileged steps, discarded by seal()
_library_dirs = _ledger.library_dirs_default


def seal(*, student_files: tuple[str, ...] = (), library_dirs: tuple[str, ...] | None = None,
         threads: bool = False) -> bool:
    """Last step before the student's code runs (after the grader's own imports and set-up).

    Called by the child once, after :func:`install`, right before it executes
    the submission's cells (:class:`~grader.sandbox.inside.guard.Guard` also
    calls it on its first use in a confined process, so the protections hold
    from the first case on even where the child does not).  Installs what
    would get in the grader's own way earlier:

    * no new threads from the student's code: ``_thread.start_new_thread``
      refuses (a violation: the case is an error, never marks) unless
      an installed library or the grader starts the thread outside a graded
      call (matplotlib's font-cache timer, tqdm's monitor); a fresh
      ``import _thread`` is refused.  ``torch.set_num_threads`` and
      ``torch.set_num_interop_threads`` become no-ops and BLAS/OpenMP
      libraries loaded later run one thread (the grader runs torch on one);
    * ``breakpoint()`` is a no-op (no debugger in a graded run);
    * the *ledger*, a second audit hook whose state no Python code can reach:
      it refuses ``sys.setprofile``/``sys.settrace`` except from the guard's
      own ``__enter__``/``__exit__`` (called by the child's frame), refuses
      to compile or build code under an installed package's file name
      (``compile``, ``code.replace``, ``marshal.loads`` of bytes that are not
      that package's own ``.pyc``), refuses to replace the code or defaults
      of the grader's functions, keeps the guard's hits where the student's
      code cannot erase them, and checks that the grader's modules and
      classes are the objects
      they were at sealing time;
    * ``sys.getprofile``/``sys.gettrace`` no longer hand out the guard's hooks.

    A modified guard ends the process at once with status
    :data:`TAMPER_EXIT`; modified grader code on the result path (the child's
    send) ends it as soon as the guard has a hit to report, which that path
    could drop. Other tampering becomes a ``tamper`` hit of the guard.

    Args:
        student_files: the file names the student's code is compiled under.
        library_dirs: installed-package folders (default: every site-packages).
        threads: keep allowing new threads (for runs that need them).

    Student code compiled, built or unmarshalled under the grader's own file
    names is refused as well (it would pass for the grader's frames).

    Returns:
        True when the ledger was installed now, False when already sealed.
    """
    return _ledger.seal(state=_sealed, steps_in=_seal_steps, violations=violations, error=SandboxViolation,
                        exit_status=TAMPER_EXIT, student_files=student_files, library_dirs=library_dirs,
                        threads=threads)
