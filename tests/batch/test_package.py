"""The shape of grader.batch: one module per step, none over 500 lines, no import cycles, light to
import (pool workers are spawned and import it before their sandbox Worker is forked)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "grader" / "batch"


def _batch_imports(path: Path) -> set[str]:
    """Sibling modules ``path`` imports at module level (imports inside functions do not count)."""
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("grader.batch."):
            out.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[2] for a in node.names if a.name.startswith("grader.batch.")}
    return out


def test_modules_are_small_and_import_without_cycles():
    modules = {p.stem: p for p in PKG.glob("*.py") if p.stem != "__init__"}
    assert {"records", "archive", "lms", "discover", "cache", "task", "executors", "gradebook", "run"} <= set(modules)
    for name, path in modules.items():
        assert len(path.read_text().splitlines()) <= 500, f"{name}.py is over 500 lines"
    graph = {name: _batch_imports(path) for name, path in modules.items()}
    assert graph["records"] == set() and graph["errors"] == set()
    order: list[str] = []
    while len(order) < len(graph):  # topological order, or a cycle
        ready = sorted(n for n, deps in graph.items() if n not in order and deps <= set(order))
        assert ready, f"import cycle among {sorted(set(graph) - set(order))}"
        order += ready
    assert order.index("run") == len(order) - 1  # the pipeline imports the steps, no step imports it


def test_importing_the_package_loads_no_torch_and_no_reference_code():
    code = ("import sys, grader.batch, grader.cli.batch; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'reference', 'distributed')); "
            "print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
