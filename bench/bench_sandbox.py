"""Benchmark: sandbox overhead per case and per submission.

In one run, for the reference solutions of every assignment:

* in-process: call each function on each case instance directly (the
  student's own compute, no isolation);
* sandboxed: grade the same folder through the worker (fork, confinement,
  wire encoding, decoding and comparison included).

Overhead = sandboxed - in-process, per submission and per case instance.
Targets: < 100 ms per submission and < 20 ms per case.

Then the cost of the banned-call protections alone (issue 9), in a forked
child confined and sealed as a student's is (``confine.install`` +
``confine.seal``): each reference function on each case, bare and inside
the run-time guard (profiler, torch function and dispatch modes, mode
checks, the ledger's hit copy and its integrity checks at entry and
exit), plus the one-off cost of ``seal()``.  Targets: < 2 ms per case and
< 100 ms per submission of one assignment (seal + that assignment's cases).

    python bench/bench_sandbox.py [--repeat 5] [-a ID ...] [--protections-only]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # this checkout's grader, not an installed one


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("-a", "--assignment", action="append", default=[])
    ap.add_argument("--protections-only", action="store_true", help="only the banned-call protections' cost")
    args = ap.parse_args()
    if args.protections_only:
        protections(args)
        return

    from grader.api import get_worker

    worker = get_worker(reference_dir=ROOT / "reference")  # forked before references load
    from grader.catalog.project import load_catalog
    from grader.judge.engine import Options, grade_submission
    from grader.submission.load import load_submission

    catalog = load_catalog(ROOT / "reference")
    ids = tuple(args.assignment) or catalog.ids
    submission = load_submission(ROOT / "reference", assignment_ids=catalog.ids)
    options = Options(jobs=1)
    grade_submission(submission, catalog, assignments=ids, worker=worker, options=options)  # warm caches

    n_cases = 0
    inproc, sandboxed = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        n_cases = 0
        for aid in ids:
            a = catalog.get(aid)
            ref = catalog.references[aid]
            for f in a.functions:
                fn = getattr(ref, f.name)
                for inst in catalog.instances(a, f):
                    fn(*copy.deepcopy(inst.call.args), **copy.deepcopy(dict(inst.call.kwargs)))
                    n_cases += 1
        inproc.append(time.perf_counter() - t)
        t = time.perf_counter()
        r = grade_submission(submission, catalog, assignments=ids, worker=worker, options=options)
        sandboxed.append(time.perf_counter() - t)
        assert r.score == r.max_score, "the reference must get full marks"
    mi, ms = statistics.median(inproc), statistics.median(sandboxed)
    over = ms - mi
    print(f"assignments: {', '.join(ids)}; case instances: {n_cases}; repeats: {args.repeat}")
    print(f"in-process (student compute only): {mi * 1000:8.1f} ms per submission")
    print(f"sandboxed (one worker, -j1):       {ms * 1000:8.1f} ms per submission")
    print(f"overhead: {over * 1000:.1f} ms per submission (target < 100 ms), "
          f"{over / n_cases * 1000:.2f} ms per case (target < 20 ms)")
    protections(args)


def _old_guard():
    """The run-time guard as it was before issue 9 (profiler and dispatch mode only), from git, or None."""
    import subprocess
    import types

    try:
        src = subprocess.run(["git", "show", "8a06007:grader/sandbox/inside/guard.py"], cwd=ROOT, capture_output=True,
                             text=True, check=True, timeout=30).stdout
    except Exception:  # noqa: BLE001 - no git history here
        return None
    mod = types.ModuleType("grade_old_guard")
    sys.modules[mod.__name__] = mod  # (dataclasses look their module up)
    exec(compile(src, "<old guard>", "exec"), mod.__dict__)
    return mod.Guard


def _guard_costs(ids, catalog, repeat: int, guard_class=None) -> dict:
    """Seconds per case, bare and inside ``guard_class`` (default: the current guard), per assignment."""
    from grader.sandbox.inside.confine import _library_dirs
    from grader.sandbox.inside.guard import Guard

    Guard = guard_class or Guard

    libs = _library_dirs()
    out = {}
    for aid in ids:
        a = catalog.get(aid)
        ref = catalog.references[aid]
        calls = []
        for f in a.functions:
            bans = getattr(f, "banned", ()) or ()
            proto = dict(banned=tuple(a.banned) + tuple(bans), banned_ops=tuple(a.banned_ops),
                         library_dirs=libs)
            for inst in catalog.instances(a, f):
                calls.append((getattr(ref, f.name), inst.call.args, dict(inst.call.kwargs), proto))
        bare, guarded = [], []
        for _ in range(repeat):
            for fn, fargs, fkw, proto in calls:
                fa, fk = copy.deepcopy(fargs), copy.deepcopy(fkw)
                t = time.perf_counter()
                fn(*fa, **fk)
                bare.append(time.perf_counter() - t)
                fa, fk = copy.deepcopy(fargs), copy.deepcopy(fkw)
                g = Guard(**proto)
                t = time.perf_counter()
                with g:
                    fn(*fa, **fk)
                guarded.append(time.perf_counter() - t)
                assert not g.hits, (aid, fn.__name__, g.hits)
        out[aid] = (len(calls), statistics.median(bare), statistics.median(guarded), sum(bare) / repeat,
                    sum(guarded) / repeat)
    return out


def protections(args) -> None:
    """Cost of the run-time guard and the seal, measured in a forked, sealed child."""
    import json
    import os
    import tempfile

    import torch

    from grader.catalog.project import load_catalog
    from grader.sandbox.inside import confine
    from grader.sandbox.worker import library_dirs, python_read_roots

    torch.set_num_threads(1)
    catalog = load_catalog(ROOT / "reference")
    ids = tuple(args.assignment) or catalog.ids
    from grader.sandbox.inside.guard import Guard

    for aid in ids:  # tables resolved before confinement, as in the child
        a = catalog.get(aid)
        for f in a.functions:
            Guard(banned=tuple(a.banned) + tuple(getattr(f, "banned", ()) or ()), banned_ops=tuple(a.banned_ops),
                  library_dirs=confine._library_dirs())
    _guard_costs(ids, catalog, 1)  # warm lazy imports
    old_guard = _old_guard()
    # The guard before issue 9, in this unsealed process (it switches the profiler itself, which a
    # sealed process refuses to any code but the current guard).
    old = _guard_costs(ids, catalog, args.repeat, old_guard) if old_guard is not None else {}
    tmp = tempfile.mkdtemp(prefix="grade-bench-")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            confine.install(tmpdir=tmp, read_roots=python_read_roots() + (str(ROOT),))
            t = time.perf_counter()
            confine.seal(library_dirs=library_dirs())
            seal_s = time.perf_counter() - t
            t = time.perf_counter()
            confine._sealed["check"]()
            check_s = time.perf_counter() - t
            res = {"seal": seal_s, "check": check_s, "costs": _guard_costs(ids, catalog, args.repeat)}
        except BaseException as e:  # noqa: BLE001
            res = {"error": repr(e)}
        os.write(w, json.dumps(res).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 1 << 16):
        data += chunk
    os.waitpid(pid, 0)
    res = json.loads(data)
    if "error" in res:
        raise SystemExit(f"the sealed child failed: {res['error']}")
    print(f"protections (sealed child): seal() {res['seal'] * 1000:.1f} ms once per child; "
          f"integrity check {res['check'] * 1000:.2f} ms (one per call at the guard's exit; another after it when there is a hit)")
    print("per assignment: the whole guard's cost over a bare call, and what this work added over the guard "
          "before issue 9 (profiler + dispatch mode)")
    worst_case = worst_added = worst_sub = 0.0
    for aid, (n, bare, guarded, total_bare, total_guarded) in res["costs"].items():
        per_case = guarded - bare
        line = f"  {aid:14s} {n:3d} cases: guard {per_case * 1000:5.2f} ms/case"
        if aid in old:
            o_bare, o_guarded, o_total_bare, o_total_guarded = old[aid][1:]
            added = max(0.0, per_case - (o_guarded - o_bare))
            added_sub = res["seal"] + max(0.0, (total_guarded - total_bare) - (o_total_guarded - o_total_bare))
            worst_added, worst_sub = max(worst_added, added), max(worst_sub, added_sub)
            line += (f"; added {added * 1000:5.2f} ms/case (target < 2 ms), "
                     f"{added_sub * 1000:6.1f} ms/submission incl. seal (target < 100 ms)")
        worst_case = max(worst_case, per_case)
        print(line)
    print(f"worst median: guard {worst_case * 1000:.2f} ms/case"
          + (f"; added {worst_added * 1000:.2f} ms/case, {worst_sub * 1000:.1f} ms/submission" if old else ""))


if __name__ == "__main__":
    main()
