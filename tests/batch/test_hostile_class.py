"""Issue 9's end-to-end promise: a class made of every hostile submission, graded by `grade batch -j 2`.

Bounded time, a JSON result per submission, no process and no temporary folder left behind, no banned
routine with points, and no forged pass: every attack's `softmax` earns nothing, except the few attacks
aimed elsewhere whose `softmax` is honestly right (listed below).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "hostile"
# attacks on something else than softmax's answer: their softmax computes the right values itself
HONEST_SOFTMAX = {"exit_hang", "secrets_and_caps", "write_outside", "socket_open", "spawn_shell", "fork_children",
                  "gc_scrape", "raise_limits", "read_reference", "native_read_reference", "import_reference",
                  "ctypes_escape", "kill_parent", "print_flood"}
# attacks whose banned routine stands in for another function than softmax
ATTACKED = {"unwrap_library": "sigmoid", "captured_library": "sigmoid"}


def _class(tmp: Path) -> list[str]:
    """One entry per hostile file (a folder holding it as activations.py), plus the hostile folders."""
    cls = tmp / "class"
    cls.mkdir()
    names = []
    for src in sorted(HOSTILE.glob("*.py")) + sorted((HOSTILE / "protocol").glob("*.py")):
        if src.name.startswith("_"):
            continue
        entry = cls / src.stem
        entry.mkdir()
        shutil.copy(src, entry / "activations.py")
        shutil.copy(HOSTILE / "_base_activations.py", entry / "_base_activations.py")
        names.append(src.stem)
    for folder in ("exit_at_import", "syntax_error"):
        shutil.copytree(HOSTILE / folder, cls / folder)
        names.append(folder)
    return names


def _processes_with(marker: str) -> list[str]:
    """Command lines of the live processes whose environment holds ``marker`` (this batch's)."""
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open(f"/proc/{e}/environ", "rb") as f:
                    if marker.encode() not in f.read():
                        continue
                with open(f"/proc/{e}/stat", "rb") as f:
                    if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                        continue  # a zombie is already gone; only its parent's bookkeeping is left
                with open(f"/proc/{e}/cmdline", "rb") as f:
                    out.append(f"{e}: " + f.read().replace(b"\0", b" ").decode(errors="replace")[:200])
            except OSError:
                continue
    return out


def _gone(marker: str, seconds: float) -> list[str]:
    """Wait up to ``seconds`` for the batch's processes to end (multiprocessing's resource tracker ends on
    its own once the coordinator has exited; slower on a loaded machine); what is still alive then."""
    end = time.monotonic() + seconds
    while True:
        left = _processes_with(marker)
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.2)


def test_a_class_of_attacks_is_graded_in_bounded_time_and_earns_nothing(tmp_path):
    names = _class(tmp_path)
    out = tmp_path / "grades"
    runs = tmp_path / "tmp"  # every temporary folder of this batch goes here
    runs.mkdir()
    token = f"{os.getpid()}-{uuid.uuid4().hex}"  # (tmp_path.name repeats across concurrent pytest sessions)
    marker = f"GRADE_TEST_BATCH_MARKER={token}"
    env = dict(os.environ, TMPDIR=str(runs), GRADE_TEST_BATCH_MARKER=token,
               GRADE_TEST_REFERENCE=str(ROOT / "reference" / "activations.py"))
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "batch", str(tmp_path / "class"), "--out", str(out),
                           "-j", "2", "-a", "activations", "--time-scale", "0.2", "--reference", str(ROOT / "reference")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert elapsed < 600, f"the batch took {elapsed:.0f} s"
    left = _gone(marker, 60.0)
    assert left == [], f"processes of the batch outlived it: {left}"
    assert not list(runs.glob("grade-run-*")), "temporary folders left behind"
    forged = []
    for name in names:
        doc = json.loads((out / f"{name}.json").read_text())
        if name in ("exit_at_import", "syntax_error"):
            assert doc["score"] == 0, name
            continue
        function = ATTACKED.get(name, "softmax")
        cases = [c for a in doc["assignments"] for c in a["cases"] if c["function"] == function]
        assert cases, name
        earned = sum(c["score"] for c in cases)
        if name not in HONEST_SOFTMAX and earned > 0:
            forged.append(f"{name}: {function} earned {earned}")
        if "banned" in name or name.startswith(("tamper", "thread", "engine", "map_", "spoofed", "safe_", "scipy",
                                                "aten", "obfuscated", "runtime", "unwrap", "captured")):
            assert earned == 0, f"{name}: a banned routine earned {earned}"
    assert not forged, forged
