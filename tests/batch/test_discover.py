"""grader.batch.discover: entries of a plain folder (kinds, ids, discovery errors), unique ids,
and the output folder left out when it lies inside SUBMISSIONS."""

from __future__ import annotations

import pytest

from grader.batch.discover import discover, read_entry
from grader.batch.errors import BatchError, EntryError
from grader.batch.gradebook import gradebook_rows
from grader.batch.records import ArchiveLimits, Entry


def test_discover_plain_entries_ids_kinds_and_errors(tmp_path, touch, make_zip):
    root = tmp_path / "subs"
    touch(root / "alice.py")
    touch(root / "bob" / "activations.py")
    touch(root / "bob" / "__pycache__" / "x.pyc", b"\0")
    touch(root / "carol smith.ipynb", "{}")
    touch(root / "dave.zip", make_zip({"activations.py": "x=1\n"}))
    touch(root / "erin.pdf", b"%PDF")
    (root / "frank").mkdir()
    touch(root / ".DS_Store", b"\0")
    touch(root / "gradebook.py")
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


def test_duplicate_ids_are_reported_and_disambiguated(tmp_path, touch):
    root = tmp_path / "subs"
    touch(root / "alice.py")
    touch(root / "alice.ipynb", "{}")
    touch(root / "Alice" / "activations.py")
    d = discover(root, work_dir=tmp_path / "work")
    assert [e.id for e in d.entries] == ["Alice", "Alice__2", "Alice__3"]
    assert d.duplicates == (("Alice", ("Alice/", "alice.ipynb", "alice.py")),)
    assert [e.duplicate_of for e in d.entries] == ["", "Alice", "Alice"]
    rows = gradebook_rows(d.entries, {}, {e.id: "x" for e in d.entries}, ("activations",), d.duplicates)
    assert all("duplicate id Alice" in r.reason for r in rows)


def test_output_folder_inside_submissions_is_not_an_entry(tmp_path, touch):
    root = tmp_path / "subs"
    touch(root / "alice.py")
    touch(root / "grades" / "gradebook.csv", "id\n")
    d = discover(root, work_dir=root / "grades" / ".grade-work", exclude=(root / "grades",))
    assert [e.id for e in d.entries] == ["alice"]


def test_read_entry_caps_and_missing_submissions(tmp_path, touch):
    f = touch(tmp_path / "subs" / "big.py", b"#" * 2000)
    entry = Entry(id="big", name="big.py", kind="py", files=(("big.py", str(f)),))
    assert read_entry(entry) == {"big.py": b"#" * 2000}
    with pytest.raises(EntryError, match="more than 1000 bytes of files"):
        read_entry(entry, limits=ArchiveLimits(entry_bytes=1000))
    with pytest.raises(BatchError, match="no such folder or file"):
        discover(tmp_path / "nope", work_dir=tmp_path / "work")
    with pytest.raises(BatchError, match="grade check"):
        discover(f, work_dir=tmp_path / "work")
