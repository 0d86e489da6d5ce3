"""Benchmark: ``grade batch`` on a synthetic class, with 1 and 2 workers (and, optionally, nbgrader).

The class (``--n`` students, default 200, fixed seed) mixes, across all seven
assignments: correct submissions, buggy ones (known mistakes), crashing ones
(a function that raises, or calls ``os._exit``), and slow ones (an infinite
loop in one function, stopped at the case time limit).  Every student submits a
folder of the seven modules (a fifth of them zipped).  The script grades the
class with ``-j 1`` and ``-j 2`` (fresh output folders, no cache) and prints
seconds per submission (whole run, and steady state after the workers
started), the scaling ratio, seconds per submission by kind, and the peak
memory of each worker (the batch worker process and its sandbox zygote).

Optional comparison with nbgrader: when an ``nbgrader`` command is found
(``--nbgrader PATH``, else on PATH), the script builds an equivalent
two-function assignment (softmax and batch cross-entropy in one notebook,
``--nb-n`` students), runs ``nbgrader autograde`` on it, grades the same
notebooks with ``grade batch -a activations -a cross_entropy``, and prints the
ratio.  Install nbgrader into its own environment so it cannot change this
one's packages, e.g.::

    python -m venv --system-site-packages /tmp/nbg && /tmp/nbg/bin/pip install nbgrader
    python bench/bench_batch.py --n 20 --nbgrader /tmp/nbg/bin/nbgrader

Nothing is asserted; the numbers are printed.  Not part of the test suite.

    python bench/bench_batch.py [--n 200] [--jobs 1 2] [--seed 0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SUBS = ROOT / "tests" / "submissions"
ASSIGNMENTS = ("activations", "cross_entropy", "backprop", "batchnorm", "lstm", "attention", "metrics")
MIX = (("correct", 0.50), ("buggy", 0.35), ("raises", 0.06), ("os_exit", 0.04), ("infinite_loop", 0.05))


def _functions() -> dict[str, list[str]]:
    """Function names per assignment, read from the stubs (nothing imported)."""
    import ast

    out = {}
    for a in ASSIGNMENTS:
        tree = ast.parse((ROOT / "assignments" / f"{a}.py").read_text())
        out[a] = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]
    return out


def _override(fn: str, kind: str) -> str:
    body = {
        "raises": "raise RuntimeError('something went wrong in the student code')",
        "os_exit": "import os\n    os._exit(3)",
        "infinite_loop": "while True:\n        pass",
    }[kind]
    return f"\n\n# --- generated hostile override ---\ndef {fn}(*args, **kwargs):\n    {body}\n"


def build_class(dst: Path, n: int, *, seed: int) -> dict[str, str]:
    """Write ``n`` student entries under ``dst``; return ``{student id: kind}``."""
    rng = random.Random(seed)
    funcs = _functions()
    correct = {a: sorted((SUBS / "correct" / a).glob("*.py")) for a in ASSIGNMENTS}
    buggy = {a: sorted((SUBS / "buggy" / a).glob("*.py")) for a in ASSIGNMENTS}
    kinds = {}
    dst.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sid = f"student{i:04d}"
        kind = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
        kinds[sid] = kind
        files: dict[str, str] = {}
        hostile_a = rng.choice(ASSIGNMENTS)
        for a in ASSIGNMENTS:
            src = rng.choice(correct[a]).read_text() if correct[a] else ""
            if kind == "buggy" and buggy[a] and rng.random() < 0.6:
                src = rng.choice(buggy[a]).read_text()
            if kind in ("raises", "os_exit", "infinite_loop") and a == hostile_a:
                src += _override(rng.choice(funcs[a]), kind)
            files[f"{a}.py"] = src
        if i % 5 == 4:
            with zipfile.ZipFile(dst / f"{sid}.zip", "w", zipfile.ZIP_DEFLATED) as z:
                for name, text in files.items():
                    z.writestr(f"{sid}/{name}", text)
        else:
            (dst / sid).mkdir()
            for name, text in files.items():
                (dst / sid / name).write_text(text)
    return kinds


def run(cls: Path, out: Path, *, jobs: int, assignments: tuple[str, ...] = ()) -> dict:
    """Grade ``cls`` into ``out`` (fresh) with ``jobs`` workers; return timings and memory."""
    from grader.api import batch

    shutil.rmtree(out, ignore_errors=True)
    finished: list[float] = []
    t0 = time.perf_counter()
    summary = batch(cls, out_dir=out, jobs=jobs, device="cpu", assignments=assignments,
                    progress=lambda done, total, last: finished.append(time.perf_counter()) if last else None)
    wall = time.perf_counter() - t0
    n = len(summary.rows)
    steady = (finished[-1] - finished[0]) / (len(finished) - 1) if len(finished) > 1 else float("nan")
    return {"wall": wall, "n": n, "per_sub": wall / n, "steady": steady, "first_result": finished[0] - t0,
            "summary": summary}


def _mb(x: float) -> str:
    return f"{x:.0f} MB"


def report_run(label: str, r: dict, kinds: dict[str, str]) -> None:
    s = r["summary"]
    print(f"\n== {label}: {r['n']} submissions in {r['wall']:.1f} s ==")
    print(f"  seconds per submission: {r['per_sub']:.3f} (whole run, incl. worker start-up); "
          f"{r['steady']:.3f} steady state (first result after {r['first_result']:.1f} s)")
    by_kind = defaultdict(list)
    for o in s.outcomes:
        by_kind[kinds.get(o.id, "?")].append(o.seconds)
    for kind, _ in MIX:
        xs = by_kind.get(kind)
        if xs:
            print(f"  {kind:<14} n={len(xs):<4} mean {statistics.mean(xs):.3f} s   median "
                  f"{statistics.median(xs):.3f} s   max {max(xs):.2f} s (in the worker)")
    statuses = defaultdict(int)
    for row in s.rows:
        statuses[row.status] += 1
    print(f"  gradebook statuses: {dict(statuses)}")
    for w, (rss, zrss) in sorted(s.workers.items()):
        print(f"  worker {w}: peak RSS {_mb(rss)} (batch worker) + {_mb(zrss)} (sandbox zygote) = {_mb(rss + zrss)}")


# ---------------------------------------------------------------------------
# nbgrader comparison (optional)

NB_SOURCE_SOLUTION = '''\
import torch

def softmax(x, dim=-1):
    ### BEGIN SOLUTION
    m = x.max(dim=dim, keepdim=True).values
    e = torch.exp(x - m)
    return e / e.sum(dim=dim, keepdim=True)
    ### END SOLUTION

def cross_entropy(logits, targets):
    ### BEGIN SOLUTION
    m = logits.max(dim=1, keepdim=True).values
    lse = m.squeeze(1) + torch.log(torch.exp(logits - m).sum(dim=1))
    return (lse - logits[torch.arange(logits.shape[0]), targets]).mean()
    ### END SOLUTION
'''

NB_TESTS = [
    ("test_softmax", 3, '''\
import torch
torch.manual_seed(0)
for shape in [(4, 6), (2, 3, 5), (1, 1)]:
    x = torch.randn(*shape, dtype=torch.float64) * 10
    assert torch.allclose(softmax(x), torch.softmax(x, dim=-1), atol=1e-10)
x = torch.tensor([[1e4, 0.0, -1e4]], dtype=torch.float64)
assert torch.isfinite(softmax(x)).all()
'''),
    ("test_cross_entropy", 3, '''\
import torch
torch.manual_seed(1)
for n, c in [(8, 5), (1, 3), (16, 10)]:
    z = torch.randn(n, c, dtype=torch.float64) * 5
    y = torch.randint(0, c, (n,))
    assert torch.allclose(cross_entropy(z, y), torch.nn.functional.cross_entropy(z, y), atol=1e-10)
z = torch.tensor([[1e4, 0.0], [0.0, -1e4]], dtype=torch.float64)
assert torch.isfinite(cross_entropy(z, torch.tensor([1, 0])))
'''),
]

NB_VARIANTS = {
    "correct": NB_SOURCE_SOLUTION.replace("    ### BEGIN SOLUTION\n", "").replace("    ### END SOLUTION\n", ""),
    "no_shift": '''\
import torch

def softmax(x, dim=-1):
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)

def cross_entropy(logits, targets):
    p = softmax(logits, dim=1)
    return -torch.log(p[torch.arange(logits.shape[0]), targets]).mean()
''',
}


def _nb_source_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(NB_SOURCE_SOLUTION)
    cell.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False, "schema_version": 3,
                                 "grade_id": "solution", "task": False}
    cells = [cell]
    for gid, points, code in NB_TESTS:
        t = nbformat.v4.new_code_cell(code)
        t.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": points,
                                  "schema_version": 3, "grade_id": gid, "task": False}
        cells.append(t)
    nb.cells = cells
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def nbgrader_compare(nbgrader: str, n: int, work: Path) -> None:
    """Time ``nbgrader autograde`` and ``grade batch`` on the same ``n`` two-function notebooks."""
    import nbformat

    course = work / "course"
    shutil.rmtree(course, ignore_errors=True)
    course.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(textwrap.dedent(f"""\
        c = get_config()
        c.CourseDirectory.root = {str(course)!r}
        c.CourseDirectory.course_id = "bench"
        c.ExecutePreprocessor.timeout = 60
        """))
    _nb_source_notebook(course / "source" / "ps1" / "ps1.ipynb")
    env = dict(os.environ)
    # nbgrader runs helpers (alembic, jupyter) from its own environment's bin folder.
    env["PATH"] = os.path.dirname(os.path.abspath(nbgrader)) + os.pathsep + env.get("PATH", "")
    gen = subprocess.run([nbgrader, "generate_assignment", "ps1", "--force"], cwd=course, env=env,
                         capture_output=True, text=True)
    if gen.returncode != 0:
        print(f"nbgrader generate_assignment failed:\n{gen.stdout[-2000:]}\n{gen.stderr[-2000:]}")
        return
    released = nbformat.read(str(course / "release" / "ps1" / "ps1.ipynb"), as_version=4)
    ours = work / "ours"
    shutil.rmtree(ours, ignore_errors=True)
    ours.mkdir(parents=True)
    for i in range(n):
        sid = f"s{i:03d}"
        variant = "correct" if i % 2 == 0 else "no_shift"
        nb = nbformat.from_dict(json.loads(nbformat.writes(released)))
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = NB_VARIANTS[variant]
        path = course / "submitted" / sid / "ps1" / "ps1.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))
        plain = nbformat.v4.new_notebook()
        plain.cells = [nbformat.v4.new_code_cell(NB_VARIANTS[variant])]
        nbformat.write(plain, str(ours / f"{sid}.ipynb"))
    t = time.perf_counter()
    ag = subprocess.run([nbgrader, "autograde", "ps1", "--create", "--force"], cwd=course, env=env,
                        capture_output=True, text=True)
    t_nb = time.perf_counter() - t
    if ag.returncode != 0:
        ag = subprocess.run([nbgrader, "autograde", "ps1", "--force"], cwd=course, env=env, capture_output=True,
                            text=True)
        t_nb = time.perf_counter() - t
    graded = len(list((course / "autograded").glob("*/ps1/ps1.ipynb")))
    if ag.returncode != 0 or graded != n:
        print(f"nbgrader autograde failed ({graded}/{n} graded):\n{ag.stdout[-1500:]}\n{ag.stderr[-1500:]}")
        return
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "batch", str(ours), "--out", str(work / "ours_out"),
                           "-a", "activations", "-a", "cross_entropy", "-j", "2", "--device", "cpu", "--force"],
                          cwd=ROOT, capture_output=True, text=True)
    t_ours = time.perf_counter() - t
    if proc.returncode != 0:
        print(f"grade batch failed:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
        return
    print(f"\n== nbgrader comparison: {n} two-function notebooks (softmax + batch cross-entropy) ==")
    print(f"  nbgrader autograde (one command): {t_nb:.1f} s = {t_nb / n:.3f} s per submission")
    print(f"  grade batch -j 2 (one command, fresh process, all seven functions of the two assignments, float32 and "
          f"float64 cases): {t_ours:.1f} s = {t_ours / n:.3f} s per submission")
    print(f"  speed ratio: grade batch is {t_nb / t_ours:.1f}x faster per submission (target >= 10x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="students in the synthetic class")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="worker counts to compare")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, default=None, help="build the class and outputs here (kept)")
    ap.add_argument("--nbgrader", default=shutil.which("nbgrader"), help="nbgrader executable (optional)")
    ap.add_argument("--nb-n", type=int, default=20, help="students in the nbgrader comparison")
    ap.add_argument("--skip-class", action="store_true", help="only run the nbgrader comparison")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="grade-bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    cpus = len(os.sched_getaffinity(0))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {cpus} CPU cores available · load average {load} (other work skews the timings) · "
          f"python {sys.version.split()[0]} · work folder {work}")
    if not args.skip_class:
        cls = work / "class"
        shutil.rmtree(cls, ignore_errors=True)
        kinds = build_class(cls, args.n, seed=args.seed)
        counts = defaultdict(int)
        for k in kinds.values():
            counts[k] += 1
        print(f"class: {args.n} students, all seven assignments each; kinds: {dict(counts)}")
        results = {}
        for j in args.jobs:
            results[j] = run(cls, work / f"out_j{j}", jobs=j)
            report_run(f"grade batch -j {j}", results[j], kinds)
        if 1 in results and 2 in results:
            r1, r2 = results[1], results[2]
            print(f"\nscaling 1 -> 2 workers: {r1['wall'] / r2['wall']:.2f}x whole run, "
                  f"{r1['steady'] / r2['steady']:.2f}x steady state (target >= 1.8x)")
            print(f"seconds per submission with -j 2: {r2['per_sub']:.3f} whole run, {r2['steady']:.3f} steady "
                  "state (target <= 0.5)")
            same = [r.__dict__ for r in r1["summary"].rows] == [r.__dict__ for r in r2["summary"].rows]
            print(f"gradebooks of -j 1 and -j 2 identical: {same}")
    if args.nbgrader:
        nbgrader_compare(args.nbgrader, args.nb_n, work / "nbgrader")
    else:
        print("\nnbgrader comparison skipped: no nbgrader command found. Install it in its own environment "
              "(see this script's docstring) and pass --nbgrader PATH.")
    print(f"\nload average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
