"""The student's process: import the submission, then run one case per request.

Runs in a child forked by the zygote (:mod:`grader.sandbox.zygote`), next to
hostile code. Protocol (:mod:`grader.sandbox.protocol`): read a
:class:`~grader.sandbox.protocol.Setup` frame; clean the process (a
scrubbed environment, no capabilities); confine it; run the submission's
cells in order (a notebook cell that raises is reported and the next cell
runs, as in Jupyter); report; then answer each run request with exactly one
result frame that echoes the request's index and nonce, until ``exit``.

Inputs are views of the shared input region the grader wrote; outputs go
back as :mod:`grader.sandbox.wire` data. The grader believes none of it
without its own checks.
"""

from __future__ import annotations

import linecache
import mmap
import os
import sys
import time
import traceback
import types

from grader.sandbox import wire
from grader.sandbox.inside import confine
from grader.sandbox.inside.guard import Guard

__all__ = ["main"]

_exit = os._exit  # held here: a submission that replaces os._exit cannot keep the child alive (the grader kills it anyway)

_MAX_TB = 4000
_KEEP_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _send(fd: int, meta: dict, value=None) -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass
    try:
        frame = wire.encode(value, meta)
    except Exception as e:  # noqa: BLE001 - an output we cannot encode
        meta = dict(meta, status="error", error={"type": "EncodeError",
                                                  "message": f"the grader could not read the returned value: {e}",
                                                  "traceback": ""})
        frame = wire.encode(None, meta)
    _write_all(fd, frame)


def _student_tb(exc: BaseException, filenames: frozenset) -> str:
    """Traceback restricted to the student's own frames."""
    try:
        frames = [f for f in traceback.StackSummary.extract(traceback.walk_tb(exc.__traceback__), lookup_lines=False)
                  if f.filename in filenames]
        lines = traceback.StackSummary.from_list(frames).format()
        try:
            msg = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        except Exception:  # noqa: BLE001
            msg = type(exc).__name__
        text = ("Traceback (your code, most recent call last):\n" + "".join(lines) if lines else "") + msg
        return text[-_MAX_TB:]
    except Exception:  # noqa: BLE001
        return type(exc).__name__


def _exc_info(exc: BaseException, filenames: frozenset) -> dict:
    try:
        message = str(exc)[:2000]
    except Exception:  # noqa: BLE001
        message = "<unprintable>"
    if isinstance(exc, SystemExit):
        message = f"your code called sys.exit({exc.code!r})"
    elif isinstance(exc, KeyboardInterrupt):
        message = "your code raised KeyboardInterrupt"
    return {"type": type(exc).__name__, "message": message, "traceback": _student_tb(exc, filenames)}


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001
        return False
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text)


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


# --------------------------------------------------------------------------- hygiene


def scrub_environment(tmp: str) -> None:
    """Leave only harmless variables (no ``GRADE_*``, no secrets) and erase the initial environment block.

    ``/proc/self/environ`` shows the environment the process *started* with
    (inherited by fork from the grader), not ``os.environ``: its memory is
    overwritten too, before confinement forbids raw memory access.
    """
    keep = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    for k in list(os.environ):
        try:
            del os.environ[k]
        except Exception:  # noqa: BLE001
            pass
    os.environ.update(keep)
    os.environ.update({"HOME": tmp, "TMPDIR": tmp, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                       "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"})
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        fields = stat[stat.rindex(b")") + 2:].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (proc(5), fields 50 and 51)
        if 0 < start < end and end - start < (1 << 24):
            import ctypes

            ctypes.memset(start, 0, end - start)
    except Exception:  # noqa: BLE001 - best effort; Landlock still hides other processes' environments
        pass


def drop_capabilities() -> None:
    """Drop every Linux capability (bounding, effective, permitted, inheritable sets).

    A grader run as root (CI, containers) would otherwise give the student's
    code root's powers: ``chattr +i`` on files in its temp folder, raw
    sockets, ignoring file permissions.
    """
    if os.geteuid() != 0 and not _has_caps():
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_capbset_drop = 24
        for cap in range(64):
            libc.prctl(pr_capbset_drop, cap, 0, 0, 0)

        class Header(ctypes.Structure):
            _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

        class Data(ctypes.Structure):
            _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                        ("inheritable", ctypes.c_uint32)]

        hdr = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
        data = (Data * 2)()
        libc.capset(ctypes.byref(hdr), ctypes.byref(data))
    except Exception:  # noqa: BLE001
        pass


def _has_caps() -> bool:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16) != 0
    except OSError:
        pass
    return False


# --------------------------------------------------------------------------- main


def main(req_fd: int, res_fd: int, region_fd: int = -1) -> None:
    """Entry point of the student's process; never returns (``os._exit``)."""
    code = 0
    try:
        _main(req_fd, res_fd, region_fd)
    except BaseException:  # noqa: BLE001 - the child must end through os._exit
        code = 3
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001
            pass
        _exit(code)


def _run_cells(setup: dict, module: types.ModuleType, filenames: frozenset) -> tuple[list, dict | None, str]:
    """Execute the submission's cells; return (cell errors, fatal error, fatal kind).

    A ``.py`` file is one cell: if it raises, the import failed (Python's
    semantics). A notebook's cells run one by one; one that raises is
    recorded and the next still runs (Jupyter's semantics).
    """
    cell_errors: list = []
    notebook = bool(setup.get("notebook"))
    for cell in setup["cells"]:
        number = int(cell.get("number", 0))
        if cell.get("writefile"):
            try:
                # A path relative to the working folder, as Jupyter writes it (the loader refused any
                # path leaving the folder; the sandbox refuses writes outside it anyway).
                name = os.path.normpath(str(cell["writefile"]))
                if os.path.isabs(name) or name.startswith(".."):
                    raise PermissionError(f"%%writefile {cell['writefile']}: only files inside the notebook's folder")
                if os.path.dirname(name):
                    os.makedirs(os.path.dirname(name), exist_ok=True)
                with open(name, "w", encoding="utf-8") as f:
                    f.write(cell["source"])
            except BaseException as e:  # noqa: BLE001
                cell_errors.append({"cell": number, "error": _exc_info(e, filenames), "kind": "writefile"})
            continue
        fname = cell.get("filename") or setup["filename"]
        src = cell["source"]
        linecache.cache[fname] = (len(src), None, src.splitlines(True), fname)
        try:
            code = compile(src, fname, "exec", dont_inherit=True)
            exec(code, module.__dict__)
        except BaseException as e:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
            kind = "oom" if _is_oom(e) else type(e).__name__
            if not notebook:
                return cell_errors, _exc_info(e, filenames), kind
            cell_errors.append({"cell": number, "error": _exc_info(e, filenames), "kind": kind})
    return cell_errors, None, ""


def _drive(trajectories, fn, guard, traj: dict, args, kwargs, filenames, audit) -> tuple[dict, dict | None]:
    """Run ``fn`` as the update rule of a trajectory case, every step under the guard.

    Returns the run as data and, when the rule raised at some step, that
    exception (the run then ends at that step). NotImplementedError
    propagates (the function is not written yet).
    """
    from grader.judge.objectives import from_data
    from grader.spec import Call, Trajectory

    spec = dict(traj["spec"])
    spec["objective"] = from_data(spec["objective"])
    spec["carry"] = dict(spec.get("carry") or {})
    gen = trajectories.drive(Trajectory(**spec), Call(tuple(args), dict(kwargs)), list(traj.get("names") or ()),
                             losses=False)  # (the grader computes the losses from the parameters)
    failure = None
    try:
        c = next(gen)
        while True:
            try:
                with guard:
                    out = fn(*c.args, **dict(c.kwargs))
                audit("grade.guard", "done")
            except NotImplementedError:
                raise
            except Exception as e:  # noqa: BLE001 - reported with the step it happened at
                failure = _exc_info(e, filenames)
                out = trajectories.StepFailed(f"your code raised {type(e).__name__}")
            c = gen.send(out)
    except StopIteration as stop:
        return stop.value.to_data(), failure


def _main(req_fd: int, res_fd: int, region_fd: int) -> None:
    import torch

    read_exact = _read_exact_fd(req_fd)
    setup, _ = wire.read_frame(read_exact)
    sb = setup["sandbox"]
    limits = setup["limits"]
    devices = set(setup.get("devices") or ("cpu",))
    uses_cuda = any(d.startswith("cuda") for d in devices)
    region = None
    if region_fd >= 0 and setup.get("region_size"):
        region = mmap.mmap(region_fd, int(setup["region_size"]))
        os.close(region_fd)

    # Deterministic, single-threaded, full-precision numerics.
    torch.set_num_threads(1)
    torch.manual_seed(0)
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
    except Exception:  # noqa: BLE001
        pass

    tmp = sb["tmpdir"]
    os.chdir(tmp)
    scrub_environment(tmp)
    drop_capabilities()
    sub_dir = sb.get("submission_dir")
    for p in list(sys.path):
        if p in ("", ".") or any(os.path.realpath(p) == os.path.realpath(d) for d in sb.get("deny_roots", [])):
            sys.path.remove(p)
    if sub_dir:
        sys.path.insert(0, sub_dir)
    if setup.get("notebook"):
        sys.path.insert(0, tmp)  # as in Jupyter: a module a %%writefile cell wrote can be imported
    if uses_cuda:
        torch.cuda.init()

    # Grader modules the child needs later, imported before confinement.
    import torch.utils._python_dispatch  # noqa: F401

    from grader import spec as _spec  # noqa: F401 - trajectory cases are driven here: import before confinement
    from grader.judge import objectives as _objectives  # noqa: F401
    from grader.judge import trajectory as trajectories
    from grader.sandbox import protocol

    ipython = None
    if setup.get("notebook"):
        try:
            from grader.sandbox.inside import ipython  # noqa: F811
        except ImportError:  # pragma: no cover - older kits
            ipython = None

    libs = tuple(sb.get("library_dirs", ()))
    guard_proto = dict(banned=tuple(setup.get("banned", ())), banned_ops=tuple(setup.get("banned_ops", ())),
                       library_dirs=libs)
    guard_protos = {name: dict(banned=tuple(b.get("banned", ())), banned_ops=tuple(b.get("banned_ops", ())),
                               library_dirs=libs)
                    for name, b in (setup.get("function_bans") or {}).items()}
    for proto in (guard_proto, *guard_protos.values()):
        Guard(**proto).preload()  # resolve once now, while imports are allowed

    confine.set_limits(memory_mb=None if uses_cuda else limits.get("memory_mb"),
                       open_files=limits.get("open_files", 256), cpu_seconds=limits.get("cpu_seconds"))
    if sb.get("confine", True):
        confine.install(tmpdir=tmp, read_roots=tuple(sb.get("read_roots", ())),
                        deny_roots=tuple(sb.get("deny_roots", ())), allow_cuda=uses_cuda,
                        use_landlock=sb.get("landlock", True))

    filenames = frozenset([setup["filename"]] + [c.get("filename") for c in setup["cells"] if c.get("filename")])
    module = types.ModuleType(setup["module_name"])
    module.__file__ = setup["filename"]
    module.__builtins__ = __builtins__
    sys.modules[setup["module_name"]] = module
    if ipython is not None:
        try:
            ipython.install(module.__dict__)
        except Exception:  # noqa: BLE001
            pass
    audit = sys.audit  # taken before sealing: the ledger's checks after each graded call go through it
    if sb.get("confine", True):
        confine.seal(student_files=tuple(sorted(filenames)))
    t0 = time.perf_counter()
    cell_errors, fatal, kind = _run_cells(setup, module, filenames)
    elapsed = time.perf_counter() - t0
    if fatal is not None:
        _send(res_fd, {"event": "import_error", "kind": kind, "error": fatal, "cell_errors": cell_errors,
                       "violations": list(confine.violations)[:100]})
        return
    _send(res_fd, {"event": "imported", "seconds": elapsed, "cell_errors": cell_errors,
                   "violations": list(confine.violations)[:100]})

    dead: set[str] = set()  # functions that ran out of memory: not run again
    while True:
        try:
            meta, value = wire.read_frame(read_exact)
        except EOFError:
            return
        if not isinstance(meta, dict) or meta.get("kind") != "run":
            return
        index, nonce, name = meta["index"], meta["nonce"], meta["function"]
        base = {"event": "result", "index": index, "nonce": nonce}
        if name in dead:
            _send(res_fd, dict(base, status="not_run"))
            continue
        fn = module.__dict__.get(name)
        if not callable(fn):
            _send(res_fd, dict(base, status="missing"))
            continue
        try:
            inputs = protocol.inputs_from_region(meta["inputs"], region) if region is not None else \
                wire.to_torch(value)
            a = _to_device(inputs, meta["device"])
            args, kwargs = tuple(a.get("args", ())), dict(a.get("kwargs", {}))
        except Exception as e:  # noqa: BLE001 - device trouble
            _send(res_fd, dict(base, status="error", error=_exc_info(e, filenames)))
            continue
        guard = Guard(**guard_protos.get(name, guard_proto))
        n_viol = len(confine.violations)
        status, error, out = "ok", None, None
        torch.manual_seed(int(meta.get("seed") or 0))
        traj = meta.get("trajectory")
        t = time.perf_counter()
        try:
            if traj is not None:
                out, failure = _drive(trajectories, fn, guard, traj, args, kwargs, filenames, audit)
                if failure is not None:
                    status, error = "error", failure
            else:
                with guard:
                    out = fn(*args, **kwargs)
                audit("grade.guard", "done")  # the ledger ends the process if the guard did not run around it
            if uses_cuda:
                torch.cuda.synchronize()
        except NotImplementedError as e:
            status, error = "not_implemented", _exc_info(e, filenames)
        except BaseException as e:  # noqa: BLE001
            status = "oom" if _is_oom(e) else "error"
            error = _exc_info(e, filenames)
        elapsed = time.perf_counter() - t
        result = dict(base, status=status, seconds=elapsed, banned=[h.as_dict() for h in guard.hits][:100],
                      violations=list(confine.violations[n_viol:])[:100])
        if error is not None:
            result["error"] = error
        del args, kwargs, a, inputs
        _send(res_fd, result, {"out": out})
        out = None
        if status == "oom":
            dead.add(name)
