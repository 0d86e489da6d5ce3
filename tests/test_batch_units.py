"""Unit tests of batch grading's plain functions: safe zip reading, entry discovery and student
ids (plain folders, Canvas, Moodle, Gradescope), layouts, the gradebook, Gradescope results and
the class report.  Nothing here runs a grading worker."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import pytest

from grader.batch.run import (Entry, EntryError, Limits, Row, _gradebook_text, _gradescope_metadata, _layout,
                          _normalize, discover, entry_content_hash, gradebook_rows, read_entry, read_zip,
                          safe_relpath)
from grader.report.gradescope import to_gradescope
from grader.report.classreport import class_stats, render_class_report, summarize
from grader.results import AssignmentResult, CaseResult, Diagnosis, GradeResult

IDS = ("activations", "cross_entropy", "backprop")


def _zip(members: dict[str, bytes | str], *, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/etc/passwd")
    return buf.getvalue()


# ---------------------------------------------------------------------------
# paths and zips


@pytest.mark.parametrize("name, expected", [("a.py", "a.py"), ("hw/./a.py", "hw/a.py"), ("hw\\a.py", "hw/a.py")])
def test_safe_relpath_accepts_relative_paths(name, expected):
    assert safe_relpath(name) == expected


@pytest.mark.parametrize("name, words", [("../x.py", "'..'"), ("hw/../../x.py", "'..'"), ("/etc/x.py", "absolute"),
                                         ("C:\\x.py", "absolute"), ("\\\\server\\x.py", "absolute")])
def test_safe_relpath_rejects_escaping_paths(name, words):
    with pytest.raises(EntryError, match=words):
        safe_relpath(name)


def test_read_zip_skips_junk_and_keeps_folders():
    files = read_zip(_zip({"hw/activations.py": "x = 1\n", "__MACOSX/hw/._activations.py": b"\0junk",
                           "hw/.DS_Store": b"\0", "hw/__pycache__/a.cpython-311.pyc": b"\0"}), name="s.zip")
    assert files == {"hw/activations.py": b"x = 1\n"}


@pytest.mark.parametrize("member, words", [("../evil.py", "'..'"), ("/abs/evil.py", "absolute")])
def test_read_zip_rejects_unsafe_members(member, words):
    data = _zip({"ok.py": "x = 1\n", member: "x = 2\n"})
    assert member in zipfile.ZipFile(io.BytesIO(data)).namelist()  # the member really has that name
    with pytest.raises(EntryError, match=words):
        read_zip(data, name="s.zip")


def test_read_zip_rejects_symlinks_and_non_zips():
    with pytest.raises(EntryError, match="symbolic link"):
        read_zip(_zip({"a.py": "x=1\n"}, symlink="link.py"), name="s.zip")
    with pytest.raises(EntryError, match="not a readable zip"):
        read_zip(b"this is not a zip", name="s.zip")


def test_read_zip_caps_size_and_count_before_extracting():
    bomb = _zip({"activations.py": b"\0" * 200_000})
    assert len(bomb) < 5_000  # compresses ~100x: a (small) zip bomb
    with pytest.raises(EntryError, match="zip bomb"):
        read_zip(bomb, name="bomb.zip", limits=Limits(unzipped_bytes=100_000))
    many = _zip({f"f{i}.py": "" for i in range(12)})
    with pytest.raises(EntryError, match="12 files"):
        read_zip(many, name="many.zip", limits=Limits(entry_files=10))


# ---------------------------------------------------------------------------
# discovery and ids


def _touch(p: Path, data: bytes | str = "x = 1\n") -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


def test_discover_plain_entries_ids_kinds_and_errors(tmp_path):
    root = tmp_path / "subs"
    _touch(root / "alice.py")
    _touch(root / "bob" / "activations.py")
    _touch(root / "bob" / "__pycache__" / "x.pyc", b"\0")
    _touch(root / "carol smith.ipynb", "{}")
    _touch(root / "dave.zip", _zip({"activations.py": "x=1\n"}))
    _touch(root / "erin.pdf", b"%PDF")
    (root / "frank").mkdir()
    _touch(root / ".DS_Store", b"\0")
    _touch(root / "gradebook.py")
    d = discover(root, work_dir=tmp_path / "work")
    got = {e.id: (e.kind, e.name, bool(e.error)) for e in d.entries}
    assert got == {
        "alice": ("py", "alice.py", False), "bob": ("folder", "bob/", False),
        "carol_smith": ("ipynb", "carol smith.ipynb", False), "dave": ("zip", "dave.zip", False),
        "erin.pdf": ("other", "erin.pdf", True), "frank": ("folder", "frank/", True),
        "student_gradebook": ("py", "gradebook.py", False),
    }
    bob = next(e for e in d.entries if e.id == "bob")
    assert [rel for rel, _ in bob.files] == ["activations.py"]
    assert d.source == "plain" and not d.duplicates
    frank = next(e for e in d.entries if e.id == "frank")
    with pytest.raises(EntryError, match="empty folder"):
        read_entry(frank)


def test_duplicate_ids_are_reported_and_disambiguated(tmp_path):
    root = tmp_path / "subs"
    _touch(root / "alice.py")
    _touch(root / "alice.ipynb", "{}")
    _touch(root / "Alice" / "activations.py")
    d = discover(root, work_dir=tmp_path / "work")
    assert [e.id for e in d.entries] == ["Alice", "Alice__2", "Alice__3"]
    assert d.duplicates == (("Alice", ("Alice/", "alice.ipynb", "alice.py")),)
    assert [e.duplicate_of for e in d.entries] == ["", "Alice", "Alice"]
    rows = gradebook_rows(d.entries, {}, {e.id: "x" for e in d.entries}, ("activations",), d.duplicates)
    assert all("duplicate id Alice" in r.reason for r in rows)


def test_canvas_export_groups_files_per_student(tmp_path):
    root = tmp_path / "canvas"
    _touch(root / "lovelaceada_1001_5001_activations.py")
    _touch(root / "lovelaceada_1001_5002_cross_entropy.py")
    _touch(root / "turingalan_late_1002_5003_activations-1.py")
    d = discover(root, work_dir=tmp_path / "work")
    assert d.source == "canvas"
    assert [(e.id, e.student_name, e.lms_id, e.late) for e in d.entries] == [
        ("lovelaceada_1001", "lovelaceada", "1001", False), ("turingalan_1002", "turingalan", "1002", True)]
    assert [rel for rel, _ in d.entries[0].files] == ["activations.py", "cross_entropy.py"]
    files = _normalize(read_entry(d.entries[1]), IDS, name="t", limits=Limits())
    assert list(files) == ["activations.py"]  # Canvas's re-upload suffix dropped


def test_moodle_export_folders_and_flat_files(tmp_path):
    root = tmp_path / "moodle"
    _touch(root / "José Núñez_123456_assignsubmission_file_" / "activations.py")
    _touch(root / "José Núñez_123456_assignsubmission_onlinetext_" / "onlinetext.html", "<p>hi</p>")
    _touch(root / "Ada Lovelace_7_assignsubmission_file_hw.ipynb", "{}")
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
    meta = _gradescope_metadata(GRADESCOPE_YML)
    assert meta["submission_111"] == [{"name": "Ada Lovelace", "sid": "42", "email": "ada@example.edu"}]
    assert [s.get("sid") for s in meta["submission_222"]] == ["", "77"]
    assert meta.get("submission_333") == []


def test_gradescope_export_zip_ids_from_metadata(tmp_path):
    export = tmp_path / "export.zip"
    export.write_bytes(_zip({
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


def test_export_zip_bomb_is_refused(tmp_path):
    from grader.batch.run import BatchError

    export = tmp_path / "export.zip"
    export.write_bytes(_zip({"a_1_2_activations.py": b"\0" * 100_000}))
    with pytest.raises(BatchError, match="expand"):
        discover(export, work_dir=tmp_path / "work", limits=Limits(export_bytes=50_000))


# ---------------------------------------------------------------------------
# layouts and hashes


def test_layout_folder_single_file_and_errors():
    assert _layout({"activations.py": b"", "notes.txt": b""}, IDS, name="e") is None
    assert _layout({"homework.ipynb": b"", "readme.md": b""}, IDS, name="e") == "homework.ipynb"
    with pytest.raises(EntryError, match="2 code files"):
        _layout({"a.py": b"", "b.py": b""}, IDS, name="e")
    with pytest.raises(EntryError, match="no .py or .ipynb"):
        _layout({"notes.txt": b""}, IDS, name="e", selected=("activations",))
    with pytest.raises(EntryError, match="no files"):
        _layout({}, IDS, name="e")


def test_normalize_unpacks_nested_zip_and_strips_top_folder():
    files = {"hw.zip": _zip({"hw1/activations.py": "x=1\n", "hw1/data/x.txt": "d"})}
    assert _normalize(files, IDS, name="e", limits=Limits()) == {"activations.py": b"x=1\n", "data/x.txt": b"d"}


def test_content_hash_depends_on_names_and_bytes():
    a = entry_content_hash({"a.py": b"x"})
    assert a == entry_content_hash({"a.py": b"x"})
    assert a != entry_content_hash({"b.py": b"x"})
    assert a != entry_content_hash({"a.py": b"y"})


# ---------------------------------------------------------------------------
# gradebook, Gradescope, class report


def _result() -> GradeResult:
    diag = Diagnosis("softmax_no_max_shift", "softmax without the max shift", "subtract the max")
    cases = (
        CaseResult(id="small", function="softmax", dtype="float32", device="cpu", status="passed", score=1.0,
                   max_score=1.0, description="4x6"),
        CaseResult(id="large", function="softmax", dtype="float32", device="cpu", status="failed", score=0.0,
                   max_score=2.0, message="5 elements are NaN", diagnosis=diag, expected_excerpt="[1, 0]",
                   got_excerpt="[nan, nan]"),
        CaseResult(id="hidden_big", function="softmax", dtype="float64", device="cpu", status="error", score=0.0,
                   max_score=1.5, message="raised", hidden=True),
    )
    a = AssignmentResult(id="activations", title="Activations", status="failed", score=1.0, max_score=4.5,
                         cases=cases)
    return GradeResult(submission="bob.py", score=1.0, max_score=4.5, assignments=(a,), seconds=2.6,
                       versions={"grade": "0.1.0", "torch": "2.13.0"})


def test_gradescope_results_follow_the_documented_schema():
    doc = to_gradescope(_result())
    json.dumps(doc, allow_nan=False)
    assert doc["score"] == 1.0 and doc["execution_time"] == 3
    assert [t["status"] for t in doc["tests"]] == ["passed", "failed", "failed"]
    assert [t["visibility"] for t in doc["tests"]] == ["visible", "visible", "after_published"]
    assert [t["max_score"] for t in doc["tests"]] == [1.0, 2.0, 1.5]
    for t in doc["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "output", "visibility"}
    assert "softmax without the max shift" in doc["tests"][1]["output"]
    assert "[nan, nan]" in doc["tests"][1]["output"]
    assert doc["extra_data"]["assignments"]["activations"]["max_score"] == 4.5
    assert to_gradescope(_result(), hidden_visibility="hidden")["tests"][2]["visibility"] == "hidden"
    with pytest.raises(ValueError, match="hidden_visibility"):
        to_gradescope(_result(), hidden_visibility="secret")


def test_gradescope_results_of_an_ungradable_entry():
    r = GradeResult(submission="x.py", score=0.0, max_score=0.0, assignments=(), problems=("x.py: binary data",))
    doc = to_gradescope(r)
    assert doc["score"] == 0.0 and doc["tests"] == []
    assert "could not be graded" in doc["output"] and "binary data" in doc["output"]


def test_gradebook_text_blank_scores_for_errors():
    entries = [Entry(id="bob", name="bob.py", kind="py"), Entry(id="zed", name="zed.py", kind="py")]
    docs = {"bob": {"status": "failed", "score": 1.0, "max_score": 4.5,
                    "assignments": [{"id": "activations", "score": 1.0}]}}
    rows = gradebook_rows(entries, docs, {"zed": "zed.py: binary data\nmore"}, ("activations",))
    assert rows[1] == Row(id="zed", name="", lms_id="", entry="zed.py", late=False, scores=(("activations", None),),
                          total=None, max_total=None, status="error", reason="zed.py: binary data")
    text = _gradebook_text(rows, ("activations",))
    assert text.splitlines() == ["id,name,lms_id,entry,late,activations,total,max_total,status,reason",
                                 "bob,,,bob.py,,1,1,4.5,failed,", "zed,,,zed.py,,,,,error,zed.py: binary data"]


def test_class_report_stats_and_page():
    good = summarize(_result().to_dict(), id="bob")
    err = summarize({"status": "error", "submission": "x.py", "problems": ["x.py: binary"], "score": 0,
                     "max_score": 0, "assignments": []}, id="x", error="x.py: binary")
    stats = class_stats([good, good | {"id": "bob2"}, err], assignments=("activations",))
    assert (stats["n"], stats["graded"], stats["errors"]) == (3, 2, 1)
    assert stats["mean_pct"] == pytest.approx(100 * 1.0 / 4.5)
    assert stats["assignments"][0]["pass_rate"] == 0.0
    assert stats["cases"][0]["pass_rate"] == 0.0 and stats["cases"][-1]["key"] == "activations/softmax/small/float32"
    assert stats["diagnoses"][0]["id"] == "softmax_no_max_shift" and stats["diagnoses"][0]["submissions"] == 2
    page = render_class_report(summaries=[good, err], assignments=("activations",))
    assert page.count("data:image/png;base64,") >= 3  # histogram, assignments, cases (+ diagnoses)
    assert "softmax without the max shift" in page and "x.py: binary" in page
    assert "http://" not in page and "https://" not in page  # self-contained


def test_output_folder_inside_submissions_is_not_an_entry(tmp_path):
    root = tmp_path / "subs"
    _touch(root / "alice.py")
    _touch(root / "grades" / "gradebook.csv", "id\n")
    d = discover(root, work_dir=root / "grades" / ".grade-work", exclude=(root / "grades",))
    assert [e.id for e in d.entries] == ["alice"]
