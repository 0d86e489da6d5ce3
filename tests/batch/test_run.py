"""End-to-end tests of ``grade batch``: a class mixing every entry kind and every kind of broken
entry, an LMS (Canvas) export zip, the cache and ``--force``, a SIGKILL midway plus a rerun, and
the Dask path on a ``LocalCluster`` -- each compared by its gradebook; and :func:`grader.api.batch`,
the keyword API the command is a thin layer over (errors as ``BatchError`` with an exit code).

Classes are small and graded with ``-a activations -a cross_entropy`` (or one assignment) to keep
the file fast; the fixtures are generated into tmp folders from ``tests/submissions/**``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from grader.batch.gradebook import read_gradebook
from grader.batch.records import CACHE_DIR, GRADEBOOK
from grader.cli import main

ROOT = Path(__file__).resolve().parents[2]
SUBS = ROOT / "tests" / "submissions"
REFERENCE = str(ROOT / "reference")
ASSIGN = ["-a", "activations", "-a", "cross_entropy"]

# id -> (status, words the reason must contain)
EXPECTED = {
    "alice": ("failed", ""), "bob": ("failed", ""), "carol": ("passed", ""), "dave": ("failed", ""),
    "erin": ("failed", ""),
    "badnb": ("error", "not a readable Jupyter notebook"), "notnb": ("error", "not a readable Jupyter notebook"),
    "empty": ("error", "empty folder"), "dotdot": ("error", "'..'"), "absolute": ("error", "absolute paths"),
    "bomb": ("error", "zip bomb"), "binary": ("error", "binary data"), "latin1": ("error", "not UTF-8"),
    "other": ("error", "defines none of the graded functions"),
}


def build_class(dst: Path) -> Path:
    """A class folder with every entry kind (folder, .py, .ipynb, .zip) and every kind of broken entry."""
    dst.mkdir(parents=True)
    (dst / "alice.py").write_text((SUBS / "correct/activations/tanh_einsum.py").read_text())
    (dst / "bob.py").write_text((SUBS / "buggy/activations/softmax_no_max_shift.py").read_text())
    (dst / "carol").mkdir()
    (dst / "carol/activations.py").write_text((SUBS / "correct/activations/masks_loops.py").read_text())
    (dst / "carol/cross_entropy.py").write_text((SUBS / "correct/cross_entropy/lse_onehot.py").read_text())
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Homework 1"),
                nbformat.v4.new_code_cell("%matplotlib inline\n" + (SUBS / "buggy/activations/sigmoid_overflow.py")
                                          .read_text())]
    nbformat.write(nb, str(dst / "dave.ipynb"))
    with zipfile.ZipFile(dst / "erin.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("hw1/activations.py", (SUBS / "correct/activations/tanh_einsum.py").read_text())
        z.writestr("__MACOSX/hw1/._activations.py", b"\0\1junk")
    (dst / "badnb.ipynb").write_text('{"cells": [')
    (dst / "notnb.ipynb").write_text('{"hello": "world"}')
    (dst / "empty").mkdir()
    with zipfile.ZipFile(dst / "dotdot.zip", "w") as z:
        z.writestr("activations.py", "x = 1\n")
        z.writestr("../../escape_dotdot.py", "x = 1\n")
    with zipfile.ZipFile(dst / "absolute.zip", "w") as z:
        z.writestr(zipfile.ZipInfo(str(dst.parent / "escape_absolute.py")), "x = 1\n")
    with zipfile.ZipFile(dst / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("activations.py"), b"\0" * (129 << 20), compress_type=zipfile.ZIP_DEFLATED)
    (dst / "binary.py").write_bytes(b"\x7fELF\x00\x01\x02 def sigmoid(x): pass")
    (dst / "latin1.py").write_bytes("# r\xe9sum\xe9\ndef sigmoid(x):\n    return x\n".encode("latin-1"))
    (dst / "other.py").write_text("def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n")
    return dst


def batch(*args: str):
    return CliRunner().invoke(main, ["batch", *args, "--reference", REFERENCE], catch_exceptions=False)


def rows_by_id(out: Path) -> dict[str, dict]:
    return {r["id"]: r for r in read_gradebook(out / GRADEBOOK)}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """The mixed class and a clean ``grade batch -j 2`` run of it: (class folder, out folder, CLI output)."""
    base = tmp_path_factory.mktemp("batch")
    cls = build_class(base / "class")
    out = base / "clean"
    res = batch(str(cls), "--out", str(out), "-j", "2", *ASSIGN)
    assert res.exit_code == 0, res.output
    return cls, out, res.output


def test_mixed_class_every_entry_gets_a_row_and_reports(mixed):
    cls, out, output = mixed
    rows = rows_by_id(out)
    assert set(rows) == set(EXPECTED)
    for id_, (status, words) in EXPECTED.items():
        r = rows[id_]
        assert r["status"] == status, (id_, r)
        assert words in r["reason"], (id_, r["reason"])
        doc = json.loads((out / f"{id_}.json").read_text())
        assert doc["schema_version"] == 1 and doc["status"] == status
        gs = json.loads((out / f"{id_}.results.json").read_text())
        assert isinstance(gs["score"], float) and isinstance(gs["tests"], list)
        assert (out / f"{id_}.html").read_text().startswith("<!doctype html>")
    assert rows["carol"]["activations"] == "48" and rows["carol"]["cross_entropy"] == "24"
    assert rows["carol"]["total"] == rows["carol"]["max_total"] == "72"
    assert rows["alice"]["activations"] == "48" and rows["alice"]["cross_entropy"] == "0"
    assert rows["erin"]["activations"] == "48"  # zip with a top folder and __MACOSX junk
    assert float(rows["bob"]["activations"]) < 48 and float(rows["dave"]["activations"]) < 48
    assert rows["binary"]["total"] == "" and rows["binary"]["activations"] == ""
    bob = json.loads((out / "bob.json").read_text())
    diags = {c["diagnosis"]["id"] for a in bob["assignments"] for c in a["cases"] if c["diagnosis"]}
    assert "softmax_no_max_shift" in diags
    assert bob["submission"] == "bob.py" and bob["assignments"][0]["source_file"] == "bob.py"
    assert str(out) not in (out / "bob.json").read_text()  # no work-folder paths leak into reports
    dave = json.loads((out / "dave.json").read_text())
    assert dave["assignments"][0]["source_file"] == "dave.ipynb"
    assert not (cls.parent / "escape_dotdot.py").exists() and not (cls.parent.parent / "escape_dotdot.py").exists()
    assert not (cls.parent / "escape_absolute.py").exists()
    report = (out / "class_report.html").read_text()
    assert "data:image/png;base64," in report and "softmax_no_max_shift" in report
    for id_ in EXPECTED:
        assert f'href="{id_}.html"' in report
    assert "14 entries" in output and "Gradebook:" in output and "Class report:" in output


def test_rerun_takes_everything_from_the_cache(mixed, tmp_path):
    cls, out, _ = mixed
    before = (out / GRADEBOOK).read_text()
    stamp = (out / "carol.html").stat().st_mtime_ns
    res = batch(str(cls), "--out", str(out), "-j", "2", *ASSIGN)
    assert res.exit_code == 0, res.output
    assert "0 graded now" in res.output, res.output
    assert (out / GRADEBOOK).read_text() == before
    assert (out / "carol.html").stat().st_mtime_ns == stamp  # outputs up to date: not rewritten
    (out / "carol.html").unlink()  # a missing report is rewritten from the cache
    res = batch(str(cls), "--out", str(out), "-j", "2", *ASSIGN)
    assert "0 graded now" in res.output and (out / "carol.html").is_file()


def test_kill_9_midway_then_rerun_gives_the_clean_gradebook(mixed, tmp_path):
    cls, clean, _ = mixed
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "grader.cli", "batch", str(cls), "--out", str(out), "-j", "1", *ASSIGN,
           "--reference", REFERENCE]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    cache = out / CACHE_DIR
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if cache.is_dir() and len(list(cache.glob("*.json"))) >= 2:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the batch finished before it could be killed"
        done_at_kill = len(list(cache.glob("*.json")))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the orphaned workers too (their zygotes exit on EOF)
        except ProcessLookupError:
            pass
    assert not (out / GRADEBOOK).exists()
    assert 2 <= done_at_kill < len(EXPECTED) - 1
    res = batch(str(cls), "--out", str(out), "-j", "2", *ASSIGN)
    assert res.exit_code == 0, res.output
    assert read_gradebook(out / GRADEBOOK) == read_gradebook(clean / GRADEBOOK)
    ids = [r["id"] for r in read_gradebook(out / GRADEBOOK)]
    assert len(ids) == len(set(ids)) == len(EXPECTED)
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.is_file()]  # no temp files left


def test_dask_cluster_gives_the_same_gradebook(mixed, tmp_path):
    distributed = pytest.importorskip("distributed", reason="the Dask path needs dask[distributed] (the test extra)")
    cls, clean, _ = mixed
    out = tmp_path / "dask"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        res = batch(str(cls), "--out", str(out), "--scheduler", cluster.scheduler_address, *ASSIGN)
    assert res.exit_code == 0, res.output
    assert "Dask scheduler" in res.output
    assert read_gradebook(out / GRADEBOOK) == read_gradebook(clean / GRADEBOOK)


def test_canvas_export_zip_to_gradebook_then_force(tmp_path):
    export = tmp_path / "submissions.zip"
    with zipfile.ZipFile(export, "w") as z:
        z.writestr("lovelaceada_1001_5001_activations.py", (SUBS / "correct/activations/tanh_einsum.py").read_text())
        z.writestr("turingalan_late_1002_5003_activations-1.py",
                   (SUBS / "buggy/activations/sigmoid_grad_wrong.py").read_text())
        z.writestr("hoppergrace_1003_5004_notes.txt", "I could not finish")
    out = tmp_path / "out"
    res = batch(str(export), "--out", str(out), "-a", "activations")
    assert res.exit_code == 0, res.output
    assert "(canvas)" in res.output
    rows = rows_by_id(out)
    assert set(rows) == {"lovelaceada_1001", "turingalan_1002", "hoppergrace_1003"}
    assert rows["lovelaceada_1001"]["activations"] == "48" and rows["lovelaceada_1001"]["status"] == "passed"
    assert rows["turingalan_1002"]["late"] == "yes" and float(rows["turingalan_1002"]["activations"]) < 48
    assert rows["hoppergrace_1003"]["status"] == "error" and "notes.txt" in rows["hoppergrace_1003"]["reason"]
    assert list(read_gradebook(out / GRADEBOOK)[0])[:6] == ["id", "name", "lms_id", "entry", "late", "activations"]
    first = (out / GRADEBOOK).read_text()
    res = batch(str(export), "--out", str(out), "-a", "activations", "--force")
    assert "3 graded now" in res.output, res.output
    assert (out / GRADEBOOK).read_text() == first


def test_usage_errors_exit_2(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    res = CliRunner().invoke(main, ["batch", str(tmp_path), "--out", str(tmp_path / "o"), "-a", "nope",
                                    "--reference", REFERENCE])
    assert res.exit_code == 2 and "unknown assignment 'nope'" in res.output
    res = CliRunner().invoke(main, ["batch", str(tmp_path / "a.py"), "--out", str(tmp_path / "o"),
                                    "--reference", REFERENCE])
    assert res.exit_code == 2 and "grade check" in res.output


def test_broken_spec_stops_the_batch_with_exit_2(tmp_path):
    import shutil

    ref = tmp_path / "reference"
    shutil.copytree(ROOT / "reference", ref, ignore=shutil.ignore_patterns("__pycache__"))
    (ref / "specs" / "activations.py").write_text("raise RuntimeError('broken on purpose')\n")
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "alice.py").write_text((SUBS / "correct/activations/tanh_einsum.py").read_text())
    res = CliRunner().invoke(main, ["batch", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "-j", "1",
                                    "--reference", str(ref)])
    assert res.exit_code == 2, res.output
    assert "could not start" in res.output and "broken on purpose" in res.output


def test_api_batch_raises_batch_error_with_exit_code_2(tmp_path):
    from grader.api import batch as api_batch
    from grader.batch.errors import BatchError

    (tmp_path / "a.py").write_text("x = 1\n")
    with pytest.raises(BatchError, match="unknown assignment 'nope'") as info:
        api_batch(tmp_path, out_dir=tmp_path / "o", assignments=("nope",), reference_dir=REFERENCE)
    assert info.value.exit_code == 2
    from grader.errors import GradeError

    assert isinstance(info.value, GradeError)  # one error hierarchy: the CLI catches GradeError
    with pytest.raises(BatchError, match="unknown device 'tpu'"):
        api_batch(submissions=tmp_path, out_dir=tmp_path / "o", device="tpu", reference_dir=REFERENCE)
    with pytest.raises(TypeError):
        api_batch(tmp_path, tmp_path / "o")  # options are keywords only


def test_api_batch_grades_like_the_command_and_the_documented_import_works(tmp_path):
    from grader.api import batch as api_batch
    from grader.batch import BatchOptions, run_batch  # the import docs/instructors.md shows

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.py").write_text((SUBS / "correct/activations/tanh_einsum.py").read_text())
    (subs / "zed.py").write_bytes(b"\x7fELF\x00 binary")
    seen = []
    summary = api_batch(subs, out_dir=tmp_path / "api", assignments=["activations"], jobs=1, device="cpu",
                        reference_dir=REFERENCE, on_start=lambda d, cached, n: seen.append((len(d.entries), cached, n)))
    assert seen == [(2, 0, 2)]
    assert [(r.id, r.status, r.total) for r in summary.rows] == [("alice", "passed", 48.0), ("zed", "error", None)]
    assert (summary.graded, summary.cached, summary.errors) == (2, 0, 1)
    again = run_batch(subs, out_dir=tmp_path / "api", options=BatchOptions(assignments=("activations",), jobs=1,
                                                                         device="cpu", reference_dir=REFERENCE))
    assert (again.graded, again.cached) == (0, 2) and again.rows == summary.rows
