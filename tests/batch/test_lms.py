"""grader.batch.lms: student ids from LMS exports (Canvas, Moodle, Gradescope) and plain names."""

from __future__ import annotations

from pathlib import Path

from grader.batch.discover import discover, read_entry
from grader.batch.lms import gradescope_metadata, plain_id, sanitize_id
from grader.batch.records import ArchiveLimits
from grader.batch.task import normalize_files

IDS = ("activations", "cross_entropy", "backprop")


def test_canvas_export_groups_files_per_student(tmp_path, touch):
    root = tmp_path / "canvas"
    touch(root / "lovelaceada_1001_5001_activations.py")
    touch(root / "lovelaceada_1001_5002_cross_entropy.py")
    touch(root / "turingalan_late_1002_5003_activations-1.py")
    d = discover(root, work_dir=tmp_path / "work")
    assert d.source == "canvas"
    assert [(e.id, e.student_name, e.lms_id, e.late) for e in d.entries] == [
        ("lovelaceada_1001", "lovelaceada", "1001", False), ("turingalan_1002", "turingalan", "1002", True)]
    assert [rel for rel, _ in d.entries[0].files] == ["activations.py", "cross_entropy.py"]
    files = normalize_files(read_entry(d.entries[1]), IDS, name="t", limits=ArchiveLimits())
    assert list(files) == ["activations.py"]  # Canvas's re-upload suffix dropped


def test_moodle_export_folders_and_flat_files(tmp_path, touch):
    root = tmp_path / "moodle"
    touch(root / "José Núñez_123456_assignsubmission_file_" / "activations.py")
    touch(root / "José Núñez_123456_assignsubmission_onlinetext_" / "onlinetext.html", "<p>hi</p>")
    touch(root / "Ada Lovelace_7_assignsubmission_file_hw.ipynb", "{}")
    d = discover(root, work_dir=tmp_path / "work")
    assert d.source == "moodle"
    assert [(e.id, e.student_name, e.lms_id) for e in d.entries] == [
        ("ada_lovelace_7", "Ada Lovelace", "7"), ("jose_nunez_123456", "José Núñez", "123456")]
    assert sorted(rel for rel, _ in d.entries[1].files) == ["activations.py", "onlinetext.html"]


GRADESCOPE_YML = """\
submission_111:
  :submitters:
  - :name: Ada Lovelace
    :sid: '42'
    :email: ada@example.edu
  :created_at: 2026-11-01 10:00:00.000000000 -07:00
  :score: 10.0
submission_222:
  :submitters:
  - :name: Alan Turing
    :sid: ''
    :email: alan@example.edu
  - :name: Grace Hopper
    :sid: "77"
    :email: grace@example.edu
submission_333:
  :submitters: []
"""


def test_gradescope_metadata_parser():
    meta = gradescope_metadata(GRADESCOPE_YML)
    assert meta["submission_111"] == [{"name": "Ada Lovelace", "sid": "42", "email": "ada@example.edu"}]
    assert [s.get("sid") for s in meta["submission_222"]] == ["", "77"]
    assert meta.get("submission_333") == []


def test_gradescope_export_zip_ids_from_metadata(tmp_path, make_zip):
    export = tmp_path / "export.zip"
    export.write_bytes(make_zip({
        "assignment_9_export/submission_metadata.yml": GRADESCOPE_YML,
        "assignment_9_export/submission_111/activations.py": "x = 1\n",
        "assignment_9_export/submission_222/hw/activations.py": "x = 1\n",
        "assignment_9_export/submission_333/activations.py": "x = 1\n",
        "assignment_9_export/../../outside.py": "x = 1\n",
    }))
    d = discover(export, work_dir=tmp_path / "work")
    assert d.source == "gradescope"
    assert [(e.id, e.student_name, e.lms_id) for e in d.entries] == [
        ("42", "Ada Lovelace", "submission_111"), ("alan+77", "Alan Turing; Grace Hopper", "submission_222"),
        ("submission_333", "", "submission_333")]
    assert any("'..'" in n for n in d.notes)  # the unsafe member was skipped, not extracted
    assert not (tmp_path / "outside.py").exists() and not (tmp_path / "work" / "outside.py").exists()
    assert all(Path(p).resolve().is_relative_to((tmp_path / "work").resolve()) for e in d.entries
               for _, p in e.files)
    again = discover(export, work_dir=tmp_path / "work")  # extracted once, reused
    assert [e.id for e in again.entries] == [e.id for e in d.entries]


def test_plain_ids_are_safe_file_names():
    assert plain_id("carol smith.ipynb") == "carol_smith" and plain_id("erin.pdf") == "erin.pdf"
    assert sanitize_id("../../etc") == "etc" and sanitize_id("???") == "entry"
    assert sanitize_id("Gradebook") == "student_Gradebook" and len(sanitize_id("x" * 300)) == 100
