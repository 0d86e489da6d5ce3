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


def _fork_json(fn) -> tuple[dict | None, int]:
    """Run ``fn()`` in a forked child; return (the dict it returned, as JSON through a pipe, or None
    when it did not finish; the wait status)."""
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
    _, status = os.waitpid(pid, 0)
    return (json.loads(data) if data else None), status


def _in_child(fn) -> dict:
    """Run ``fn()`` in a forked child; return the dict it returns."""
    return _fork_json(fn)[0]


@pytest.mark.skipif(not LANDLOCK, reason="this kernel has no Landlock (Linux >= 5.13 with Landlock enabled)")
def test_landlock_blocks_native_reads_outside_the_allowed_roots(tmp_path):
    secret = tmp_path / "secret" / "reference.py"
    secret.parent.mkdir()
    secret.write_text("ANSWER = 42\n")
    work = tmp_path / "work"
    work.mkdir()
    import torch

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


# --------------------------------------------------------------------------- sealing (issues 8 and 9)

def _sealed(fn, tmp_path, *, own=(), threads=False) -> tuple[dict | None, int]:
    """Run ``fn()`` in a forked child confined like a student's (install, then seal);
    return (its dict, or None when it did not finish; the wait status)."""
    import grader.sandbox.inside.guard  # noqa: F401 - loaded before confinement, as in the child
    from grader.sandbox.worker import library_dirs, python_read_roots

    work = tmp_path / "work"
    work.mkdir(exist_ok=True)

    def confined():
        os.environ.update(MPLCONFIGDIR=str(work), HOME=str(work), TMPDIR=str(work))  # as the child does
        confine.install(tmpdir=str(work), read_roots=python_read_roots() + tuple(str(p) for p in own))
        confine.seal(library_dirs=library_dirs(), threads=threads)
        return fn()

    return _fork_json(confined)


def _refused(f) -> str:
    try:
        f()
        return "ALLOWED"
    except PermissionError as e:
        return f"refused: {e}"
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"


def test_ordinary_libraries_import_and_run_in_a_sealed_child(tmp_path):
    """Issue 8, 4: matplotlib (and what notebooks import) registers fork handlers and starts
    BLAS at import; in the sandbox that must be harmless, not an error."""
    def use():
        import os as _os

        out = {"register_at_fork": _os.register_at_fork(after_in_child=lambda: None)}
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        fig.savefig(_os.path.join(_os.environ["MPLCONFIGDIR"], "plot.png"))
        out["matplotlib"] = True
        import numpy as np
        import scipy.linalg
        import scipy.special

        a = np.random.default_rng(0).standard_normal((300, 300))
        out["scipy"] = float(scipy.special.erf(0.5)) > 0 and scipy.linalg.inv(a).shape == (300, 300)
        out["numpy_blas"] = float((a @ a).trace()) != 0
        from tqdm import tqdm

        out["tqdm"] = sum(tqdm(range(5), disable=False)) == 10
        from IPython.display import HTML, display

        display(HTML("<b>ok</b>"))
        out["ipython"] = True
        import torch

        torch.set_num_threads(4)  # a no-op in the sandbox (one thread), not a crash
        x = torch.randn(400, 400)
        out["torch"] = float((x @ x).sum()) == float((x @ x).sum()) and torch.get_num_threads() == 1
        return out

    out, status = _sealed(use, tmp_path)
    assert os.WIFEXITED(status) and out is not None, status
    assert out == {"register_at_fork": None, "matplotlib": True, "scipy": True, "numpy_blas": True, "tqdm": True,
                   "ipython": True, "torch": True}, out


def test_a_student_helper_named_like_a_grader_module_imports(tmp_path):
    """Issue 8, 7: a `reference.py` beside the student's code is the student's own module."""
    own = tmp_path / "submission"
    own.mkdir()
    (own / "reference.py").write_text("ANSWER = 42\n")

    def use():
        import sys as _sys

        _sys.path.insert(0, str(own))
        _sys.modules.pop("reference", None)  # (this test process may hold the grader's own)
        import reference

        return {"own": reference.ANSWER, "grader": _refused(lambda: __import__("grade_specs"))}

    out, _ = _sealed(use, tmp_path, own=(own,))
    assert out["own"] == 42
    assert out["grader"].startswith("refused") and "grade_specs" in out["grader"]


def test_new_threads_are_refused_after_sealing(tmp_path):
    """Issue 9: code in another thread runs beyond the guard's watch, so the student's code starts
    none: not through threading, a pool, or a fresh `_thread` module."""
    def use():
        import sys as _sys
        import threading
        from concurrent.futures import ThreadPoolExecutor

        out = {"thread": _refused(lambda: threading.Thread(target=lambda: None).start()),
               "pool": _refused(lambda: ThreadPoolExecutor(1).submit(lambda: 1).result())}
        del _sys.modules["_thread"]
        out["fresh_module"] = _refused(lambda: __import__("_thread"))
        return out

    out, _ = _sealed(use, tmp_path)
    assert out["thread"].startswith("refused") and "start a thread" in out["thread"], out
    assert out["pool"].startswith("refused"), out
    assert out["fresh_module"].startswith("refused"), out


def test_threads_work_when_the_sandbox_is_not_sealed_against_them(tmp_path):
    """Guards the test above: with ``threads=True`` the same thread starts."""
    def use():
        import threading

        done = []
        t = threading.Thread(target=lambda: done.append(1))
        t.start()
        t.join()
        return {"done": done}

    out, _ = _sealed(use, tmp_path, threads=True)
    assert out == {"done": [1]}


def test_profiler_and_tracer_cannot_be_switched_by_student_code(tmp_path):
    def use():
        import sys as _sys

        out = {"setprofile": _refused(lambda: _sys.setprofile(None)),
               "settrace": _refused(lambda: _sys.settrace(lambda *a: None)),
               "breakpoint": breakpoint()}  # no debugger in a graded run: a no-op
        return out

    out, _ = _sealed(use, tmp_path)
    assert out["setprofile"].startswith("refused") and out["settrace"].startswith("refused"), out
    assert out["breakpoint"] is None


def test_code_cannot_pass_for_an_installed_package(tmp_path):
    """Issue 9: 'code compiled with a file name under site-packages counts as library code'."""
    import torch

    fake = os.path.join(os.path.dirname(torch.__file__), "nn", "_not_really_torch.py")
    real = os.__file__

    def use():
        import _imp
        import marshal

        src = "def f(x):\n    return x\n"
        mine = compile(src, "student.py", "exec")
        data = marshal.dumps(mine).replace(b"student.py", b"s.py")  # a crafted marshal stream ...
        crafted = data.replace(b"\x0as.py", bytes([len(fake)]) + fake.encode())  # ... under torch's name
        out = {"compile": _refused(lambda: compile(src, fake, "exec")),
               "replace": _refused(lambda: mine.replace(co_filename=fake)),
               "marshal": _refused(lambda: marshal.loads(crafted))}
        _imp._fix_co_filename(mine, fake)
        out["fix_co_filename"] = mine.co_filename
        with open(real) as f:
            out["real_source"] = _refused(lambda: compile(f.read(), real, "exec"))
        out["own_names"] = _refused(lambda: compile(src, "<string>", "exec"))
        return out

    out, _ = _sealed(use, tmp_path)
    assert out["compile"].startswith("refused") and "installed package" in out["compile"], out
    assert out["replace"].startswith("refused"), out
    assert out["marshal"].startswith("refused"), out
    assert out["fix_co_filename"] == "student.py"
    assert out["real_source"] == "ALLOWED" and out["own_names"] == "ALLOWED", out


def test_guard_switched_off_from_inside_is_tampering(tmp_path):
    import torch

    def use():
        from grader.sandbox.inside.guard import TAMPER, Guard
        from grader.sandbox.worker import library_dirs

        x = torch.randn(3, 4)
        out = {}
        g = Guard(banned=("torch.softmax",), banned_ops=("aten::_softmax",), library_dirs=library_dirs())

        def attack():
            out["exit"] = _refused(lambda: g.__exit__(None, None, None))
            with torch._C._DisableTorchDispatch():
                torch.ops.aten._softmax(x, -1, False)

        with g:
            attack()
        out["hits"] = sorted({h.name for h in g.hits if h.how == "tamper"})
        out["tamper"] = TAMPER
        return out

    out, _ = _sealed(use, tmp_path)
    assert out["exit"].startswith("refused"), out
    t = out["tamper"]
    assert f"{t}: your code switched the guard off" in out["hits"], out
    assert f"{t}: dispatch to the guard's operator mode was disabled" in out["hits"], out


def test_modified_grader_code_ends_the_process(tmp_path):
    def use():
        from grader.sandbox.inside import guard as g

        g.Hit.as_dict = lambda self: {}
        with g.Guard(banned=("torch.softmax",), library_dirs=()):
            pass
        return {"reached": True}

    out, status = _sealed(use, tmp_path)
    assert out is None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == confine.TAMPER_EXIT


def test_grader_functions_cannot_be_rewritten_and_hits_cannot_be_erased(tmp_path):
    import torch

    def use():
        import sys as _sys

        from grader.sandbox.inside.guard import Guard
        from grader.sandbox.worker import library_dirs

        out = {"code": _refused(lambda: setattr(Guard.__exit__, "__code__", (lambda *a: None).__code__)),
               "defaults": _refused(lambda: setattr(Guard._build, "__defaults__", (None,))),
               # deleting is refused as replacing is (the ledger no longer re-reads each __kwdefaults__)
               "del_kwdefaults": _refused(lambda: delattr(_sys.modules["grader.sandbox.inside.confine"].seal,
                                                          "__kwdefaults__")),
               "getprofile": None}
        g = Guard(banned=("torch.softmax",), banned_ops=(), library_dirs=library_dirs())
        with g:
            torch.softmax(torch.ones(3), 0)
            out["getprofile"] = repr(_sys.getprofile())
            g._hits.clear()  # the guard's own list: the ledger kept a copy
        out["hits"] = [h.name for h in g.hits]
        return out

    out, _ = _sealed(use, tmp_path)
    assert out["code"].startswith("refused") and out["defaults"].startswith("refused"), out
    assert out["del_kwdefaults"].startswith("refused"), out
    assert out["getprofile"] == "None"
    assert out["hits"] == ["torch.softmax"], out


def test_a_graded_call_without_the_guard_ends_the_process_when_the_child_checks(tmp_path):
    """Both Guard.__enter__ and __exit__ replaced before the first case: nothing inside the guard
    runs, and the child's `done` check after the call catches it."""
    def use():
        import sys as _sys

        from grader.sandbox.inside import guard

        audit = _sys.audit  # the child takes its reference before sealing; same object here
        guard.Guard.__enter__ = lambda self: self
        guard.Guard.__exit__ = lambda self, *exc: None
        with guard.Guard(banned=("torch.softmax",), library_dirs=()):
            pass
        audit("grade.guard", "done")
        return {"reached": True}

    out, status = _sealed(use, tmp_path)
    assert out is None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == confine.TAMPER_EXIT
