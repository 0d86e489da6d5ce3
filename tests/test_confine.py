"""Kernel-level confinement (Landlock, seccomp) and rlimits, each checked in a forked process.

These are the layers that hold even against native code, which a Python audit
hook never sees (e.g. torch.from_file opens files from C).
"""

from __future__ import annotations

import json
import os
import platform
import socket
import tempfile

import pytest

from grader.sandbox.inside import confine

LANDLOCK = confine.landlock_abi()


def _in_child(fn) -> dict:
    """Run ``fn()`` in a forked child; return the dict it returns (as JSON through a pipe)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = fn()
        except BaseException as e:  # noqa: BLE001
            out = {"crash": repr(e)}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data)


@pytest.mark.skipif(not LANDLOCK, reason="this kernel has no Landlock (Linux >= 5.13 with Landlock enabled)")
def test_landlock_blocks_native_reads_outside_the_allowed_roots(tmp_path):
    secret = tmp_path / "secret" / "reference.py"
    secret.parent.mkdir()
    secret.write_text("ANSWER = 42\n")
    work = tmp_path / "work"
    work.mkdir()
    import torch  # noqa: F401 - loaded before the restriction, like in the worker

    def attack():

        abi = confine.landlock(read=(os.path.dirname(os.__file__), os.path.dirname(torch.__file__)),
                               write=(str(work),))
        out = {"abi": abi}
        try:
            torch.from_file(str(secret), size=secret.stat().st_size, dtype=torch.uint8)
            out["native_read"] = "ALLOWED"
        except RuntimeError as e:
            out["native_read"] = str(e)
        (work / "ok.txt").write_text("fine")
        out["write_inside"] = (work / "ok.txt").read_text()
        try:
            (tmp_path / "outside.txt").write_text("x")
            out["write_outside"] = "ALLOWED"
        except PermissionError:
            out["write_outside"] = "denied"
        return out

    out = _in_child(attack)
    assert out.get("abi", 0) >= 1, out
    assert "Permission" in out["native_read"], out
    assert out["write_inside"] == "fine"
    assert out["write_outside"] == "denied"


@pytest.mark.skipif(not LANDLOCK or LANDLOCK < 4, reason="Landlock network rules need ABI >= 4")
def test_landlock_refuses_tcp_connect():
    def attack():
        confine.landlock(read=("/usr",), write=(tempfile.gettempdir(),))
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect(("127.0.0.1", 9))
            return {"connect": "ALLOWED"}
        except PermissionError:
            return {"connect": "denied"}
        except OSError as e:
            return {"connect": f"other: {e}"}

    assert _in_child(attack)["connect"] == "denied"


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the seccomp filter is written for x86-64 syscalls")
def test_seccomp_blocks_native_fork_exec_and_inet_sockets_but_not_threads():
    def attack():
        import ctypes
        import threading

        import torch

        out = {"installed": confine.seccomp()}
        libc = ctypes.CDLL(None, use_errno=True)
        pid = libc.fork()
        if pid == 0:
            os._exit(0)
        out["fork"] = pid
        out["execve"] = libc.execve(b"/bin/true", None, None)
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            out["inet"] = "ALLOWED"
        except OSError:
            out["inet"] = "denied"
        a, b = socket.socketpair()
        out["unix"] = "ok"
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
        torch.set_num_threads(2)
        x = torch.randn(300, 300)
        out["torch"] = float((x @ x).sum()) is not None
        return out

    out = _in_child(attack)
    assert out["installed"] is True, out
    assert out["fork"] == -1 and out["execve"] == -1 and out["inet"] == "denied"
    assert out["unix"] == "ok" and out["torch"] is True


def test_address_space_limit_turns_a_huge_allocation_into_an_error():
    def attack():
        import torch

        confine.set_limits(memory_mb=256, open_files=64)
        try:
            torch.ones(1 << 33, dtype=torch.uint8)  # 8 GiB
            return {"alloc": "ALLOWED"}
        except RuntimeError as e:
            return {"alloc": str(e)[:200]}

    assert "allocate" in _in_child(attack)["alloc"]


def test_cpu_time_limit_kills_a_busy_loop():
    import signal

    pid = os.fork()
    if pid == 0:
        confine.set_limits(memory_mb=None, open_files=64, cpu_seconds=1)
        while True:
            pass
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL)


def test_open_files_limit_applies():
    def attack():
        confine.set_limits(memory_mb=None, open_files=32)
        held = []
        try:
            for _ in range(100):
                held.append(open(os.devnull))
            return {"opened": len(held)}
        except OSError as e:
            return {"opened": len(held), "error": e.strerror}

    out = _in_child(attack)
    assert out["opened"] < 32 and out["error"] == "Too many open files"
