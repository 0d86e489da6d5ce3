"""Benchmark: `grade check reference -a activations` against `python -c "import torch"`.

Both commands run as fresh processes, alternating, several times, in the
same run; the script prints the medians and their ratio.  Target: <= 1.3x.

With ``--against REV`` it also times `grade check reference` over every
assignment of REV (a temporary git worktree), and here over the assignments of
issue 11 (Catalogue I: REV's seven plus ``layers``, ``layernorm``, ``losses``)
and over every assignment, alternating. Issue 11's target is Catalogue I within
2x of REV (REV = the commit before the catalogue work); the whole catalogue,
which issues 12 and 13 doubled again, is printed beside it.

    python bench/bench_check.py [--runs 7] [--assignment activations] [--against b8f410d]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _time(cmd: list[str], cwd: Path) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t
    if proc.returncode not in (0,):
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode()[-2000:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--assignment", default="activations")
    ap.add_argument("--against", metavar="REV", help="also compare the whole catalogue with this git revision")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="grade-bench-")) / "report.html"
    grade = [sys.executable, "-m", "grader.cli", "check", "reference", "-a", args.assignment, "--html", str(out)]
    baseline = [sys.executable, "-c", "import torch"]
    b, g = _alternate((baseline, ROOT), (grade, ROOT), runs=args.runs)
    mg, mb = statistics.median(g), statistics.median(b)
    print(f"import torch            median {mb:.3f} s  (runs: {', '.join(f'{x:.2f}' for x in b)})")
    print(f"grade check -a {args.assignment:<9}median {mg:.3f} s  (runs: {', '.join(f'{x:.2f}' for x in g)})")
    print(f"ratio grade / import torch: {mg / mb:.2f}x (target <= 1.30x)")
    if args.against:
        _against(args.against, args.runs)


#: The assignments of issue 11 (Catalogue I): the seven before it, and the three it added.
CATALOGUE_I = ("activations", "cross_entropy", "backprop", "batchnorm", "lstm", "attention", "metrics",
               "layers", "layernorm", "losses")


def _grade_cmd(ids: tuple[str, ...]) -> list[str]:
    """`grade check reference` on ``ids`` (all when empty). `python -c` puts the working folder first on
    sys.path: each command grades with its own tree's grader."""
    argv = ["grade", "check", "reference", "--no-html", "--device", "cpu"] + [x for i in ids for x in ("-a", i)]
    return [sys.executable, "-c", f"import sys; sys.argv = {argv!r}; from grader.cli import run; run()"]


def _ids() -> tuple[str, ...]:
    return tuple(p.stem for p in sorted((ROOT / "reference" / "specs").glob("*.py")) if not p.stem.startswith("_"))


def _runs(xs: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in xs)


def _alternate(*cmds: tuple[list[str], Path], runs: int) -> tuple[list, ...]:
    """Seconds of ``runs`` runs of each (command, folder), in turn, after one warm-up run of each
    (the page cache)."""
    for cmd in cmds:
        _time(*cmd)
    out: tuple[list, ...] = tuple([] for _ in cmds)
    for _ in range(runs):
        for cmd, times in zip(cmds, out):
            times.append(_time(*cmd))
    return out


def _against(rev: str, runs: int) -> None:
    import shutil

    old = Path(tempfile.mkdtemp(prefix="grade-bench-rev-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(old), rev], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        a, b, c = _alternate((_grade_cmd(()), old), (_grade_cmd(CATALOGUE_I), ROOT), (_grade_cmd(()), ROOT),
                               runs=runs)
        ma, mb, mc = statistics.median(a), statistics.median(b), statistics.median(c)
        print(f"grade check reference @ {rev[:10]:<10}       median {ma:.3f} s  (runs: {_runs(a)})")
        print(f"  Catalogue I @ this tree (10 ids) median {mb:.3f} s  (runs: {_runs(b)})")
        print(f"  every assignment @ this tree     median {mc:.3f} s  (runs: {_runs(c)})")
        print(f"ratio Catalogue I now / {rev[:10]}: {mb / ma:.2f}x (issue 11's target <= 2.00x)")
        print(f"ratio whole catalogue now / {rev[:10]}: {mc / ma:.2f}x (for information: issues 12 and 13 added "
              f"{len(_ids()) - len(CATALOGUE_I)} assignments)")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(old.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
