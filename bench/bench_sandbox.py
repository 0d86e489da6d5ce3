"""Benchmark: sandbox overhead per case and per submission.

In one run, for the reference solutions of every assignment:

* in-process: call each function on each case instance directly (the
  student's own compute, no isolation);
* sandboxed: grade the same folder through the worker (fork, confinement,
  wire encoding, decoding and comparison included).

Overhead = sandboxed - in-process, per submission and per case instance.
Targets: < 100 ms per submission and < 20 ms per case.

    python bench/bench_sandbox.py [--repeat 5] [-a ID ...]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("-a", "--assignment", action="append", default=[])
    args = ap.parse_args()

    from grader.api import get_worker

    worker = get_worker(reference_dir=ROOT / "reference")  # forked before references load
    from grader.judge.engine import Options, grade_submission
    from grader.catalog.project import load_catalog
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


if __name__ == "__main__":
    main()
