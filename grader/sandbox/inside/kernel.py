"""Kernel-enforced rules for the student's process: Landlock (file system, network, signals) and a
seccomp filter (no new threads), installed by :func:`grader.sandbox.inside.confine.install`.

Standard library only (``ctypes`` system calls); both are best effort and report what they
installed, so the confinement degrades to the audit hook alone on kernels without them.
"""

from __future__ import annotations

import os

__all__ = ["landlock", "landlock_abi", "seccomp"]


# --- Landlock: kernel-enforced file-system and network rules --------------------------
# Audit hooks see only what Python itself opens; native code (torch.from_file, a C
# extension) opens files directly.  Landlock (Linux >= 5.13, unprivileged) makes the
# kernel refuse those too.  Syscall numbers and flags from <linux/landlock.h>.

_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446  # x86_64 and aarch64 share these
_PR_SET_NO_NEW_PRIVS = 38
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_ALL_V1 = (1 << 13) - 1
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: unavailable)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        v = libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
        return max(int(v), 0)
    except Exception:
        return 0


def landlock(*, read: tuple[str, ...], write: tuple[str, ...], devices_rw: bool = False) -> int:
    """Restrict this process (and anything it could start) with Landlock.

    Args:
        read: paths (folders or files) that may be read and executed.
        write: folders that may be read, written, created in and removed from.
        devices_rw: allow writes and ioctls on ``/dev`` (the CUDA driver needs them).

    Returns:
        The ABI version used (0 when Landlock is unavailable: nothing was changed).
        With ABI >= 4 every TCP bind/connect is refused; with ABI >= 6 signals to
        processes outside the sandbox and abstract unix sockets are refused.
    """
    import ctypes

    abi = landlock_abi()
    if abi <= 0:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    fs = _FS_ALL_V1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0) | (
        _FS_IOCTL_DEV if abi >= 5 else 0)

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    attr = RulesetAttr(fs, (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0,
                       (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0)
    size = ctypes.sizeof(RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return 0
    file_rights = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | (_FS_TRUNCATE if abi >= 3 else 0) | (
        _FS_IOCTL_DEV if abi >= 5 else 0)

    def allow(path: str, rights: int) -> None:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            if not os.path.isdir(path):
                rights &= file_rights
            rule = PathBeneath(rights & fs, fd)
            libc.syscall(_SYS_ADD_RULE, ruleset, ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0))
        finally:
            os.close(fd)

    try:
        for p in read:
            allow(p, _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR)
        for p in write:
            allow(p, fs)
        allow("/dev/null", _FS_READ_FILE | _FS_WRITE_FILE)
        if devices_rw:
            allow("/dev", _FS_READ_FILE | _FS_READ_DIR | _FS_WRITE_FILE | (_FS_IOCTL_DEV if abi >= 5 else 0))
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return 0
        if libc.syscall(_SYS_RESTRICT, ruleset, ctypes.c_uint32(0)) != 0:
            return 0
    finally:
        os.close(ruleset)
    return abi


# --- seccomp: no new processes, no non-UNIX sockets, even from native code ------------

_AUDIT_ARCH_X86_64 = 0xC000003E
_X86_64 = {"fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "clone": 56, "clone3": 435,
           "socket": 41, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311}
_CLONE_THREAD = 0x00010000
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_EPERM, _ENOSYS = 1, 38


def seccomp() -> bool:
    """Install a seccomp filter: fork, vfork, execve(at), clone without CLONE_THREAD,
    ptrace and process_vm_* fail with EPERM; clone3 with ENOSYS (so libc falls back to
    clone, whose flags can be checked); socket() only for AF_UNIX.  Threads still work.

    Returns False (nothing installed) on machines other than x86-64 or without seccomp.
    """
    import ctypes
    import platform

    if platform.machine() != "x86_64":
        return False

    def stmt(code, k):
        return (code, 0, 0, k)

    def jump(code, k, jt, jf):
        return (code, jt, jf, k)

    LD, JEQ, JSET, RET = 0x20, 0x15, 0x45, 0x06
    n = _X86_64
    deny_eperm = [n["fork"], n["vfork"], n["execve"], n["execveat"], n["ptrace"], n["process_vm_readv"],
                  n["process_vm_writev"]]
    prog = [stmt(LD, 4), jump(JEQ, _AUDIT_ARCH_X86_64, 1, 0), stmt(RET, _RET_ALLOW), stmt(LD, 0)]
    for nr in deny_eperm:
        prog += [jump(JEQ, nr, 0, 1), stmt(RET, _RET_ERRNO | _EPERM)]
    prog += [jump(JEQ, n["clone3"], 0, 1), stmt(RET, _RET_ERRNO | _ENOSYS)]
    # clone: allowed only for threads.
    prog += [jump(JEQ, n["clone"], 0, 3), stmt(LD, 16), jump(JSET, _CLONE_THREAD, 1, 0),
             stmt(RET, _RET_ERRNO | _EPERM), stmt(LD, 0)]
    # socket: AF_UNIX (1) only.
    prog += [jump(JEQ, n["socket"], 0, 3), stmt(LD, 16), jump(JEQ, 1, 1, 0), stmt(RET, _RET_ERRNO | _EPERM)]
    prog += [stmt(RET, _RET_ALLOW)]  # (the clone block reloads nr (LD 0) for the socket test after it)

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(Filter))]

    arr = (Filter * len(prog))(*[Filter(*ins) for ins in prog])
    fprog = Prog(len(prog), ctypes.cast(arr, ctypes.POINTER(Filter)))
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return False
        return libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
    except Exception:
        return False
