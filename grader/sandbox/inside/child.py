"""The student's process: import the submission, run one function on its cases.

Runs in a child forked from the worker (:mod:`grader.sandbox.worker`).  Protocol:
read one request frame from ``req_fd`` (module source, function name, the
runs to do, limits), write one frame per event to ``res_fd``:

* ``{"event": "imported"}`` after the module's top-level code ran;
* ``{"event": "import_error", ...}`` (then exit) when it raised or is missing;
* ``{"event": "result", "i": run index, "status": ..., ...}`` per run, with
  value ``{"out": output, "inputs": inputs after the call}``;
* ``{"event": "done"}``.

The child trusts nothing it runs; the grader trusts nothing the child sends
beyond numbers it decodes itself (:mod:`grader.sandbox.wire`).
"""

from __future__ import annotations

import linecache
import os
import sys
import time
import traceback
import types

from grader.sandbox.inside import confine

from grader.sandbox import wire
from grader.sandbox.inside.guard import Guard

__all__ = ["main"]

_MAX_TB = 4000


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _send(fd: int, meta: dict, value=None) -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    try:
        frame = wire.encode(value, meta)
    except Exception as e:  # an output we cannot encode
        meta = dict(meta, status="error", error={"type": "EncodeError",
                                                  "message": f"the grader could not read the returned value: {e}",
                                                  "traceback": ""})
        frame = wire.encode(None, meta)
    _write_all(fd, frame)


def _student_tb(exc: BaseException, filename: str) -> str:
    """Traceback restricted to the student's own frames."""
    try:
        frames = [f for f in traceback.StackSummary.extract(traceback.walk_tb(exc.__traceback__), lookup_lines=False)
                  if f.filename == filename]
        lines = traceback.StackSummary.from_list(frames).format()
        try:
            msg = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        except Exception:
            msg = type(exc).__name__
        text = ("Traceback (your code, most recent call last):\n" + "".join(lines) if lines else "") + msg
        return text[-_MAX_TB:]
    except Exception:
        return type(exc).__name__


def _exc_info(exc: BaseException, filename: str) -> dict:
    try:
        message = str(exc)[:2000]
    except Exception:
        message = "<unprintable>"
    return {"type": type(exc).__name__, "message": message, "traceback": _student_tb(exc, filename)}


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    try:
        text = str(exc)
    except Exception:
        return False
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text
                                              or "CUDA out of memory" in text)


def _to_device(value, device: str):
    import torch

    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, tuple):
        return tuple(_to_device(v, device) for v in value)
    if isinstance(value, list):
        return [_to_device(v, device) for v in value]
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    return value


def main(req_fd: int, res_fd: int) -> None:
    """Entry point of the student's process; never returns (``os._exit``)."""
    code = 0
    try:
        _main(req_fd, res_fd)
    except BaseException:  # noqa: BLE001 - the child must end through os._exit
        code = 3
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os._exit(code)


def _read_exact_fd(fd: int):
    def read_exact(n: int) -> bytes:
        chunks = []
        while n > 0:
            b = os.read(fd, min(n, 1 << 20))
            if not b:
                break
            chunks.append(b)
            n -= len(b)
        return b"".join(chunks)

    return read_exact


def _main(req_fd: int, res_fd: int) -> None:
    import torch

    meta, value = wire.read_frame(_read_exact_fd(req_fd))
    os.close(req_fd)
    sb = meta["sandbox"]
    limits = meta["limits"]
    devices = {r["device"] for r in meta["runs"]}
    uses_cuda = any(d.startswith("cuda") for d in devices)

    # Deterministic, single-threaded, full-precision numerics.
    torch.set_num_threads(1)
    torch.manual_seed(0)
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
    except Exception:
        pass

    inputs = {k: wire.to_torch(v) for k, v in (value or {}).items()}
    tmp = sb["tmpdir"]
    os.chdir(tmp)
    os.environ.update({"HOME": tmp, "TMPDIR": tmp})
    sub_dir = sb.get("submission_dir")
    if sub_dir:
        sys.path.insert(0, sub_dir)
    for p in list(sys.path):
        if p in ("", ".") or any(os.path.realpath(p) == os.path.realpath(d) for d in sb.get("deny_roots", [])):
            sys.path.remove(p)
    if uses_cuda:
        torch.cuda.init()

    # Grader modules the child may need later, imported before confinement.
    import torch.utils._python_dispatch  # noqa: F401

    guard_proto = dict(banned=tuple(meta.get("banned", ())), banned_ops=tuple(meta.get("banned_ops", ())),
                       library_dirs=tuple(sb.get("library_dirs", ())))
    Guard(**guard_proto)  # resolve once now, while imports are allowed

    confine.set_limits(memory_mb=None if uses_cuda else limits.get("memory_mb"),
                       open_files=limits.get("open_files", 256),
                       cpu_seconds=limits.get("cpu_seconds"))
    if sb.get("confine", True):
        confine.install(tmpdir=tmp, read_roots=tuple(sb.get("read_roots", ())),
                        deny_roots=tuple(sb.get("deny_roots", ())), allow_cuda=uses_cuda,
                        use_landlock=sb.get("landlock", True))

    filename = meta["filename"]
    source = meta["source"]
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(meta["module_name"])
    module.__file__ = filename
    module.__builtins__ = __builtins__
    sys.modules[meta["module_name"]] = module
    t0 = time.perf_counter()
    try:
        compiled = compile(source, filename, "exec", dont_inherit=True)
        exec(compiled, module.__dict__)
    except BaseException as e:  # noqa: BLE001 - SystemExit, KeyboardInterrupt included
        kind = "oom" if _is_oom(e) else type(e).__name__
        _send(res_fd, {"event": "import_error", "kind": kind, "error": _exc_info(e, filename),
                       "violations": list(confine.violations)})
        return
    _send(res_fd, {"event": "imported", "seconds": time.perf_counter() - t0})

    dead: set[str] = set()  # functions that ran out of memory: not run again
    import threading

    threads0 = threading.active_count()
    for i, run in enumerate(meta["runs"]):
        if i and run["function"] != meta["runs"][i - 1]["function"] and threading.active_count() > threads0:
            # The previous function left a thread running: hand the rest to a fresh process.
            _send(res_fd, {"event": "yield", "next": i})
            return
        if run["function"] in dead:
            _send(res_fd, {"event": "result", "i": i, "status": "not_run"})
            continue
        fn = module.__dict__.get(run["function"])
        if not callable(fn):
            _send(res_fd, {"event": "result", "i": i, "status": "missing"})
            continue
        args_kwargs = inputs[run["key"]]
        device = run["device"]
        try:
            a = _to_device(args_kwargs, device)
            args, kwargs = tuple(a.get("args", ())), dict(a.get("kwargs", {}))
        except Exception as e:  # pragma: no cover - device trouble
            _send(res_fd, {"event": "result", "i": i, "status": "error", "error": _exc_info(e, filename)})
            continue
        guard = Guard(**guard_proto)
        n_viol = len(confine.violations)
        status, error, out = "ok", None, None
        torch.manual_seed(0)
        t = time.perf_counter()
        try:
            with guard:
                out = fn(*args, **kwargs)
            if uses_cuda:
                torch.cuda.synchronize()
        except NotImplementedError as e:
            status, error = "not_implemented", _exc_info(e, filename)
        except BaseException as e:  # noqa: BLE001
            status = "oom" if _is_oom(e) else "error"
            error = _exc_info(e, filename)
            if isinstance(e, SystemExit):
                error["message"] = f"your code called sys.exit({e.code!r})"
            elif isinstance(e, KeyboardInterrupt):
                error["message"] = "your code raised KeyboardInterrupt"
        elapsed = time.perf_counter() - t
        result_meta = {"event": "result", "i": i, "status": status, "seconds": elapsed,
                       "banned": [h.as_dict() for h in guard.hits],
                       "violations": list(confine.violations[n_viol:])}
        if error is not None:
            result_meta["error"] = error
        _send(res_fd, result_meta, {"out": out, "inputs": {"args": args, "kwargs": kwargs}})
        if status == "oom":
            dead.add(run["function"])
    _send(res_fd, {"event": "done"})
