"""Benchmark: `grade check reference -a activations` against `python -c "import torch"`.

Both commands run as fresh processes, alternating, several times, in the
same run; the script prints the medians and their ratio.  Target: <= 1.3x.

    python bench/bench_check.py [--runs 7] [--assignment activations]
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
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="grade-bench-")) / "report.html"
    grade = [sys.executable, "-m", "grader.cli", "check", "reference", "-a", args.assignment, "--html", str(out)]
    baseline = [sys.executable, "-c", "import torch"]
    _time(baseline, ROOT)  # warm the page cache for both
    _time(grade, ROOT)
    g, b = [], []
    for _ in range(args.runs):
        b.append(_time(baseline, ROOT))
        g.append(_time(grade, ROOT))
    mg, mb = statistics.median(g), statistics.median(b)
    print(f"import torch            median {mb:.3f} s  (runs: {', '.join(f'{x:.2f}' for x in b)})")
    print(f"grade check -a {args.assignment:<9}median {mg:.3f} s  (runs: {', '.join(f'{x:.2f}' for x in g)})")
    print(f"ratio grade / import torch: {mg / mb:.2f}x (target <= 1.30x)")


if __name__ == "__main__":
    main()
