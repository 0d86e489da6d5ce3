"""The sandbox's *ledger*: the audit hook that :func:`grader.sandbox.inside.confine.seal` installs.

It runs in the student's process, but no Python code can reach its state (an audit hook cannot be
listed, removed or introspected): it refuses what would switch the run-time guard off or let code
pass for library or grader code, keeps a copy of the guard's hits, and checks the grader's code
for modification (ending the process with ``confine.TAMPER_EXIT`` when it was modified).
Everything it needs comes in as arguments (it imports nothing of the grader at import time).
"""

from __future__ import annotations

from builtins import (  # noqa: A004, UP029 - bound here before the student's code runs: patching
    # the builtins module cannot change what this module's code calls (the ledger checks these globals)
    Exception, OSError, ValueError, all, any, bool, bytes, callable, dict, frozenset, getattr, hasattr, id,
    int, isinstance, len, list, map, next, object, open, set, setattr, str, tuple, type, vars, zip,
)

import os
import sys

__all__ = ["LEDGER_EVENTS", "library_dirs_default", "seal"]

LEDGER_EVENTS = frozenset({"grade.hit", "grade.tamper", "grade.guard", "grade.watch", "grade.watched",
                           "sys.setprofile", "sys.settrace", "compile",
                            "code.__new__", "marshal.loads", "object.__setattr__", "object.__delattr__",
                            "import"})


def none(*args, **kwargs) -> None:
    return None


def library_dirs_default() -> tuple[str, ...]:
    """Installed-package folders (every site-packages and the folders torch and numpy come from)."""
    import site
    import sysconfig

    out = []
    try:
        out.extend(site.getsitepackages())
    except Exception:  # pragma: no cover
        pass
    for key in ("purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            out.append(p)
    for mod in ("torch", "numpy"):
        m = sys.modules.get(mod)
        if m is not None and getattr(m, "__file__", None):
            out.append(os.path.dirname(os.path.dirname(m.__file__)))
    return tuple(dict.fromkeys(os.path.join(os.path.realpath(p), "") for p in out if p))




def seal(*, state: dict, steps_in: dict, violations: list, error: type, exit_status: int,
         student_files: tuple[str, ...] = (), library_dirs: tuple[str, ...] | None = None,
         threads: bool = False) -> bool:
    """Install the ledger and the other sealing steps (see :func:`grader.sandbox.inside.confine.seal`).

    Args:
        state: confine's sealing record (filled here; non-empty means already sealed).
        steps_in: the privileged steps ``install()`` prepared (consumed and cleared here).
        violations: confine's list of refusals (appended to).
        error: the exception a refusal raises (``SandboxViolation``).
        exit_status: the status a modified grader ends the process with.
    """
    if state:
        return False
    import _imp

    lib = tuple(os.path.join(os.path.realpath(d), "") for d in (library_dirs or ())) or library_dirs_default()
    stdlib = os.path.dirname(os.__file__)
    stdlib_dirs = tuple(os.path.join(p, "") for p in dict.fromkeys((stdlib, os.path.realpath(stdlib)))) + (
        "<frozen ",)
    trusted = lib + stdlib_dirs
    grader_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))), "")
    from grader.sandbox.inside import guard as guard_mod

    real_exit = os._exit
    real_write = os.write
    real_getframe = sys._getframe
    real_fix = _imp._fix_co_filename
    import importlib._bootstrap_external as _ext

    compile_bytecode_code = _ext._compile_bytecode.__code__
    get_code_code = _ext.SourceLoader.get_code.__code__
    genuine_get_data = _ext.SourceFileLoader.get_data
    enter_code = guard_mod.Guard.__enter__.__code__
    exit_code = guard_mod.Guard.__exit__.__code__
    from grader.sandbox.inside import guard_tables as tables_mod

    all_tables = tables_mod._TABLES
    real_getprofile = sys.getprofile
    torch_c = getattr(sys.modules.get("torch"), "_C", None)
    stacks = None if torch_c is None else (torch_c._len_torch_function_stack, torch_c._get_function_stack_at,
                                           torch_c._len_torch_dispatch_stack, torch_c._get_dispatch_stack_at)
    cell_value = __import__("operator").attrgetter("cell_contents")
    # Wrapped library routines (guard_tables._Watched): the originals, kept here, handed out only to
    # the wrapper's own methods and to the guard's wrapping step.
    originals: dict[int, tuple] = {}
    watched = tables_mod._Watched
    watch_init = watched.__init__.__code__
    watch_users = frozenset(id(c) for c in (watched.__call__.__code__, watched.__getattr__.__code__,
                                            guard_mod.Guard._wrap_loaded.__code__))
    for w in list(tables_mod._WATCHED.values()):  # wrapped before sealing: take their originals now
        fn = object.__getattribute__(w, "_grade_fn")
        if fn is not None:
            originals[id(w)] = (w, fn)
            object.__setattr__(w, "_grade_fn", None)
    function_type = type(none)
    st = {"armed": False, "entry": None, "hits": [], "seen": set(), "tamper": [], "allow": None, "viol": [],
          "exits": 0, "done": 0, "suspect": None, "cells": ((), ()), "watch": None}

    def is_lib(filename) -> bool:
        """Installed packages and the standard library: code the guard trusts by its file name."""
        return isinstance(filename, str) and filename.startswith(trusted) and not filename.startswith(grader_dir)

    def is_protected(filename) -> bool:
        """File names no code may be compiled under but their own: trusted code and the grader's."""
        return isinstance(filename, str) and (filename.startswith(trusted) or filename.startswith(grader_dir))

    def is_grader(filename) -> bool:
        return isinstance(filename, str) and filename.startswith(grader_dir)

    def die(what: str) -> None:
        try:
            real_write(2, f"\ngrade: the grader's guard was modified ({what}); the case is reported for "
                          f"instructor review.\n".encode())
        finally:
            real_exit(exit_status)

    def note(what: str) -> None:
        if st["armed"] and what not in st["tamper"]:
            st["tamper"].append(what)

    def refuse(what: str):
        msg = f"grade sandbox: not allowed to {what}"
        violations.append(msg)
        st["viol"].append(msg)
        raise error(msg)

    # -- the integrity snapshot: the grader's modules and classes in this process --------------------
    # (The standard library is left alone: the result protocol does not trust the child's own os/sys,
    # and a student replacing os._exit is not tampering with the guard.)
    def _callable_items(d: dict):
        return {k: v for k, v in d.items() if callable(v) or isinstance(v, type(os))}

    snapshot: list[tuple[str, dict, dict]] = []
    guard_modules = ("grader.sandbox.inside.guard", "grader.sandbox.inside.guard_tables",
                     "grader.sandbox.inside.confine", "grader.sandbox.inside.ledger")
    # three tables of columns (mapping, key, object at sealing, label) for check()
    critical: list = [[], [], [], []]  # the guard's own modules: any change ends the process
    others: list = [[], [], [], []]  # the rest of the grader: checked when the guard has a hit to report
    defaults: list = [[], [], [], []]  # the grader functions' keyword defaults, one by one
    kwdicts: list = []  # (functions, their __kwdefaults__ dicts, their sizes)
    from operator import getitem, is_
    for name, m in list(sys.modules.items()):
        if not (name == "grader" or name.startswith("grader.")) or m is None:
            continue
        d = vars(m)
        # the guard's own modules: every global (its tables, file names, code objects); others: what runs
        snapshot.append((name, d, dict(d) if name.startswith(guard_modules) else _callable_items(d)))
        for k, v in list(d.items()):
            if isinstance(v, type) and getattr(v, "__module__", None) == name:
                snapshot.append((f"{name}.{k}", v.__dict__, dict(v.__dict__)))
    # Replacing or deleting a grader function's __code__/__defaults__/__kwdefaults__ is refused
    # (object.__setattr__/__delattr__ below); what remains is editing a __kwdefaults__ dict in place.
    kwdefaults = []
    for _, d, items in snapshot:
        for v in items.values():
            if isinstance(v, type(seal)) and v.__kwdefaults__ and getattr(v, "__module__", "").startswith("grader"):
                kwdefaults.append((v, v.__kwdefaults__, tuple(v.__kwdefaults__.items())))

    def check() -> None:
        """End the process if the guard's own code was modified, or if other grader code (the child's
        send, the wire) was and the guard has something to report: a modified channel could drop it.
        (Without a hit to hide, the result protocol's own checks decide what a modified channel earns.)

        Runs after every graded call, so each test is one pass in C over flat columns (identity,
        element by element: an object's own ``__eq__`` is never asked); names are looked up only
        when something changed."""
        if not intact(critical):
            die(changed(critical))
        _, dicts, sizes = kwdicts
        # (Not re-reading each function's __kwdefaults__: every read is an audit event, and replacing one is
        # refused above; the dicts themselves are checked.)
        if not (tuple(map(len, dicts)) == sizes and intact(defaults)):
            die(next((f"{f.__qualname__}.__kwdefaults__ was changed" for f, kw, n in zip(*kwdicts)
                      if len(kw) != n), changed(defaults)))
        if st["viol"] and not all(map(violations.__contains__, st["viol"])):
            die("the sandbox's record of refused actions was edited")
        if (st["hits"] or st["tamper"]) and not intact(others):
            die(changed(others))

    def intact(table) -> bool:
        maps, keys, values, _ = table
        try:
            return all(map(is_, map(getitem, maps, keys), values))
        except Exception:  # a name deleted
            return False

    def changed(table) -> str:
        for m, k, v, label in zip(*table):
            try:
                if m[k] is v:
                    continue
            except Exception:
                pass
            return f"{label}.{k} was replaced"
        return "grader code was replaced"

    # -- the guard's tables and closures ------------------------------------------------------------
    # The tables decide what counts as a hit and the student's code can reach them (guard_tables'
    # _TABLES); their containers are immutable, so each attribute's identity is what is checked.
    tables: list = [(), (), (), ()]
    builds: dict[int, tuple] = {}  # id(tables) -> (the guard's handlers, their closure cells, the tables)

    def snap_tables() -> None:
        rows = [(all_tables, k, t, "the guard's tables") for k, t in all_tables.items()]
        for t in all_tables.values():
            rows.extend((vars(t), k, v, "the guard's table") for k, v in vars(t).items() if k != "keep")
        tables[:] = [tuple(column) for column in zip(*rows)] if rows else [(), (), (), ()]

    def tables_intact() -> bool:
        """The tables known at the last snapshot, unchanged (a table built later, for a banned list
        first used after sealing, is adopted at the next snapshot)."""
        return intact(tables)

    def closure_cells(functions) -> tuple[tuple, tuple]:
        """Every closure cell of the guard's handlers (and of the grader functions they close over)."""
        cells, values, todo, done = [], [], list(functions), set()
        while todo:
            f = todo.pop()
            if id(f) in done or not isinstance(f, function_type):
                continue
            done.add(id(f))
            for c in f.__closure__ or ():
                try:
                    v = c.cell_contents
                except ValueError:
                    continue
                cells.append(c)
                values.append(v)
                if isinstance(v, function_type) and is_grader(v.__code__.co_filename):
                    todo.append(v)
                elif isinstance(v, type) and v.__module__ == guard_mod.__name__:
                    todo.extend(v.__dict__.values())
        return tuple(cells), tuple(values)

    def watch_intact() -> str | None:
        """At the guard's exit: its closures, its modes and its profiler as they were set up."""
        cells, values = st["cells"]
        try:
            if not all(map(is_, map(cell_value, cells), values)):
                return "closure"
        except ValueError:
            return "closure"
        w = st["watch"]
        if w is None:
            return None
        profile, dm, fm, state = w
        if state.get("dmode") is not dm or state.get("fmode") is not fm:
            return "closure"
        if real_getprofile() is not profile:
            return "the profiler was removed or replaced"
        if stacks is not None:
            len_f, at_f, len_d, at_d = stacks
            if fm is not None and not (len_f() and at_f(len_f() - 1) is fm):
                return "the guard's function mode was removed"
            if dm is not None and not (len_d() and at_d(len_d() - 1) is dm):
                return "the guard's operator mode was removed"
        return None

    # -- the ledger ---------------------------------------------------------------------------------
    def ledger(event: str, args: tuple) -> None:
        if event not in LEDGER_EVENTS:
            return
        if event.startswith("grade."):
            if event == "grade.watched" and len(args) == 2 and isinstance(args[1], list):
                if id(real_getframe(1).f_code) in watch_users and id(args[0]) in originals:
                    args[1].append(originals[id(args[0])][1])
                return
            if event == "grade.watch" and len(args) == 3 and isinstance(args[2], list):
                if real_getframe(1).f_code is watch_init and type(args[0]) is watched:
                    originals[id(args[0])] = (args[0], args[1])
                    args[2].append(True)
                return
            if event == "grade.hit" and st["armed"] and len(args) == 4:
                key = (args[0], args[1], args[3])
                if key not in st["seen"]:
                    st["seen"].add(key)
                    st["hits"].append(args)
                    check()  # something to report: the channel must be intact
            elif event == "grade.tamper" and args:
                note(str(args[0]))
            elif event == "grade.guard" and args:
                caller = real_getframe(1)
                if args[0] == "check":
                    check()
                    return
                if args[0] == "done":
                    # The child, after each graded call (through a reference it took before sealing):
                    # the guard must have run around it (its exit checked the grader's code), and with
                    # something to report the grader's code must still be intact (the channel comes next).
                    # A change made after the exit without a hit is caught at the next exit.
                    if st["armed"] or st["exits"] <= st["done"]:
                        check()  # (names what was replaced, if anything)
                        die("the guard did not run around the graded call")
                    if st["hits"] or st["tamper"]:
                        check()
                    st["done"] = st["exits"]
                    return
                if args[0] == "enter":
                    if caller.f_code is not enter_code:
                        refuse("arm the grader's guard")
                    if st["armed"]:
                        note("the guard was entered twice")
                        refuse("enter the grader's guard twice")
                    if not tables_intact():
                        die(changed(tables))
                    st.update(armed=True, entry=caller.f_back, hits=[], seen=set(), tamper=[], allow="enter",
                              cells=((), ()), watch=None)
                    if len(args) == 3 and isinstance(args[2], list) and id(args[1]) in builds:
                        args[2].append(builds[id(args[1])][0])  # the handlers built for these tables
                elif args[0] == "tables":
                    if caller.f_code is enter_code and st["allow"] == "enter":
                        snap_tables()  # (what resolving the late names added, between "enter" and here)
                        if len(args) == 2:
                            builds.pop(id(args[1]), None)  # (built on the tables as they were)
                elif args[0] == "entered":
                    if caller.f_code is enter_code and st["allow"] == "enter":
                        st["allow"] = None
                        if len(args) == 7:
                            funcs, dm, fm, state, tab, built = args[1:]
                            kept = builds.get(id(tab))
                            if kept is None:  # first use of these tables: their handlers, as just built
                                kept = builds[id(tab)] = (built, closure_cells(funcs), tab)
                            elif kept[0] is not built or funcs[0] is not built[0] or state is not built[2]:
                                die("the guard's handlers were replaced")
                            st["cells"] = kept[1]
                            st["watch"] = (funcs[0], dm, fm, state)
                elif args[0] == "exit" and len(args) == 2 and isinstance(args[1], list):
                    check()  # first: a replaced Guard.__exit__ (calling the real one) ends the process here
                    if caller.f_code is not exit_code or not st["armed"] or caller.f_back is not st["entry"]:
                        note("your code switched the guard off")
                        refuse("switch off the grader's guard")
                    bad = watch_intact()
                    if bad == "closure":
                        die("the guard's handlers were modified")
                    if bad:
                        note(bad)
                        check()  # (now with something to report: the channel must be intact)
                    st["exits"] += 1
                    args[1].extend(("hit",) + tuple(h) for h in st["hits"])
                    args[1].extend(("tamper", t) for t in st["tamper"])
                    st.update(armed=False, entry=None, allow="exit")
                elif args[0] == "exited":
                    if caller.f_code is exit_code:
                        st["allow"] = None
            return
        if event == "import":
            if args and args[0] == "_thread" and st.get("no_thread_module"):
                note("your code re-imported _thread")
                refuse("import _thread afresh (threads are not allowed)")
            return
        if event in ("sys.setprofile", "sys.settrace"):
            code = real_getframe(1).f_code
            if (st["allow"] == "enter" and code is enter_code) or (st["allow"] == "exit" and code is exit_code):
                return
            note(f"your code called {event}")
            refuse(f"call {event} (it would switch off the grader's guard)")
        if event == "compile" and len(args) >= 2:
            fn = args[1]
            if isinstance(fn, bytes):
                fn = os.fsdecode(fn)
            if is_protected(fn) and not is_lib(real_getframe(1).f_code.co_filename):
                src = args[0]
                try:
                    with open(fn, "rb") as f:
                        disk = f.read()
                except OSError:
                    disk = None
                same = disk is not None and (src == disk or (isinstance(src, str) and src.encode() == disk))
                if not same:
                    note("code compiled under an installed package's file name")
                    refuse(f"compile code under an installed package's file name ({fn})")
            return
        if event == "code.__new__" and len(args) >= 2:
            if is_protected(args[1]) and not is_lib(real_getframe(1).f_code.co_filename):
                note("a code object made under an installed package's file name")
                refuse(f"create a code object under an installed package's file name ({args[1]})")
            return
        if event == "marshal.loads" and args:
            try:
                raw = bytes(args[0])
            except Exception:
                return
            if not any(d.encode() in raw for d in trusted + (grader_dir,)):
                return
            # Code under an installed package's file name: only that package's own .pyc, loaded by the
            # import system (the real importlib function, reading a .pyc inside the package folders).
            frame = real_getframe(1)
            ok = False
            if frame.f_code is compile_bytecode_code:
                pyc = frame.f_locals.get("bytecode_path")
                if isinstance(pyc, str) and is_protected(os.path.realpath(pyc)):
                    outer = frame.f_back
                    loader = outer.f_locals.get("self") if outer is not None else None
                    if (outer is not None and outer.f_code is get_code_code and loader is not None
                            and getattr(type(loader), "get_data", None) is genuine_get_data):
                        ok = True  # the import system read these bytes from that .pyc itself
                    else:
                        try:
                            with open(pyc, "rb") as f:
                                ok = f.read()[16:] == raw
                        except OSError:
                            ok = False
            if not ok:
                note("code loaded under an installed package's file name")
                refuse("load code under an installed package's file name")
            return
        if event in ("object.__setattr__", "object.__delattr__") and len(args) >= 2 and \
                args[1] in ("__code__", "__defaults__", "__kwdefaults__", "__globals__"):
            f = args[0]
            code = getattr(f, "__code__", None) if isinstance(f, type(seal)) else None
            if code is not None and is_grader(code.co_filename):
                note(f"your code changed {getattr(f, '__qualname__', '?')}.{args[1]}")
                refuse(f"change the grader's function {getattr(f, '__qualname__', '?')}")

    def fix_co_filename(code, path):
        """``_imp._fix_co_filename`` that never turns the student's code into an installed package's."""
        if is_protected(path) and not is_protected(code.co_filename):
            return None  # keep the code's own file name
        return real_fix(code, path)

    real_start = None

    def start_thread(function, args=(), kwargs=None, *more):
        """``_thread.start_new_thread`` after sealing: a thread runs beyond the guard's watch, so the
        student's code may start none. An installed library (matplotlib's font-cache timer, tqdm's
        monitor) or the grader may, outside a graded call."""
        f = real_getframe(1)
        while f is not None and f.f_code.co_filename.startswith(stdlib_dirs) and \
                not f.f_code.co_filename.startswith(lib):
            f = f.f_back  # (site-packages may lie inside the standard library's folder)
        origin = f.f_code.co_filename if f is not None else ""
        if not st["armed"] and (is_lib(origin) or is_grader(origin)):
            return real_start(function, args, *(() if kwargs is None else (kwargs,)), *more)
        refuse("start a thread (the grader runs your code on one thread)")

    def no_op(*args, **kwargs):
        return None

    steps = dict(steps_in)
    steps_in.clear()
    state["student_files"] = tuple(student_files)
    steps.get("add_hook", sys.addaudithook)(ledger)
    state["ledger"] = True
    state["check"] = check
    _imp._fix_co_filename = fix_co_filename
    sys.getprofile = sys.gettrace = none  # the guard keeps the real ones (guard._getprofile)
    sys.breakpointhook = no_op
    if not threads:
        import _thread
        import threading

        # Native libraries loaded from now on (scipy's own OpenBLAS, an OpenMP runtime) read these
        # when they load: one thread each, as torch runs.
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS"):
            os.environ[var] = "1"
        real_start = _thread.start_new_thread
        _thread.start_new_thread = _thread.start_new = threading._start_new_thread = start_thread
        st["no_thread_module"] = True
        torch = sys.modules.get("torch")
        if torch is not None:
            for name in ("set_num_threads", "set_num_interop_threads"):
                for owner in (torch, torch._C):
                    if hasattr(owner, name):
                        setattr(owner, name, no_op)
    for name, d, items in snapshot:  # adopt the changes made just above
        for k in list(items):
            if d.get(k) is not items[k]:
                items[k] = d.get(k)
    for name, d, items in snapshot:
        table = critical if name.startswith(guard_modules) else others
        for k, v in items.items():
            table[0].append(d)
            table[1].append(k)
            table[2].append(v)
            table[3].append(name)
    for f, kw, items in kwdefaults:
        for k, v in items:
            for column, x in zip(defaults, (kw, k, v, f"{f.__qualname__} (keyword default)")):
                column.append(x)
    kwdicts[:] = [tuple(f for f, _, _ in kwdefaults), tuple(kw for _, kw, _ in kwdefaults),
                  tuple(len(items) for _, _, items in kwdefaults)]
    for table in (critical, others, defaults):
        table[:] = [tuple(column) for column in table]
    snap_tables()
    return True
