"""Benchmark: `grade check reference -a activations` against `python -c "import torch"`.

Both commands run as fresh processes, alternating, several times, in the
same run; the script prints the medians and their ratio.  Target: <= 1.3x.

With ``--against REV`` it also times `grade check reference` over *every*
assignment, here and in a checkout of REV (a temporary git worktree),
alternating: the catalogue's target is at most 2x the time before it grew
(REV = the commit before the catalogue work).

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


def _alternate(first: tuple[list[str], Path], second: tuple[list[str], Path], runs: int) -> tuple[list, list]:
    """Seconds of ``runs`` runs of each (command, folder), alternating, after one warm-up run of each
    (the page cache)."""
    _time(*first)
    _time(*second)
    a, b = [], []
    for _ in range(runs):
        a.append(_time(*first))
        b.append(_time(*second))
    return a, b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--assignment", default="activations")
    ap.add_argument("--against", metavar="REV", help="also compare the whole catalogue with this git revision")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="grade-bench-")) / "report.html"
    grade = [sys.executable, "-m", "grader.cli", "check", "reference", "-a", args.assignment, "--html", str(out)]
    baseline = [sys.executable, "-c", "import torch"]
    b, g = _alternate((baseline, ROOT), (grade, ROOT), args.runs)
    mg, mb = statistics.median(g), statistics.median(b)
    print(f"import torch            median {mb:.3f} s  (runs: {', '.join(f'{x:.2f}' for x in b)})")
    print(f"grade check -a {args.assignment:<9}median {mg:.3f} s  (runs: {', '.join(f'{x:.2f}' for x in g)})")
    print(f"ratio grade / import torch: {mg / mb:.2f}x (target <= 1.30x)")
    if args.against:
        _against(args.against, args.runs)


def _against(rev: str, runs: int) -> None:
    import shutil

    old = Path(tempfile.mkdtemp(prefix="grade-bench-rev-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(old), rev], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # `python -c` puts the working folder first on sys.path: each command grades with its own tree's grader
        cmd = [sys.executable, "-c", "import sys; sys.argv = ['grade', 'check', 'reference', '--no-html', "
               "'--device', 'cpu']; from grader.cli import run; run()"]
        a, b = _alternate((cmd, old), (cmd, ROOT), runs)
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"grade check reference @ {rev[:10]:<10} median {ma:.3f} s  (runs: {', '.join(f'{x:.2f}' for x in a)})")
        print(f"grade check reference @ this tree  median {mb:.3f} s  (runs: {', '.join(f'{x:.2f}' for x in b)})")
        print(f"ratio now / {rev[:10]}: {mb / ma:.2f}x (target <= 2.00x)")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(old.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
