"""grader.batch.task (the parts that need no grading worker): an entry's files normalized
(nested zip, shared top folder) and its layout picked (a folder of modules or one code file).
Grading itself is covered end to end by test_run.py and test_executors.py."""

from __future__ import annotations

import pytest

from grader.batch.errors import EntryError
from grader.batch.records import ArchiveLimits
from grader.batch.task import normalize_files, pick_layout

IDS = ("activations", "cross_entropy", "backprop")


def test_layout_folder_single_file_and_errors():
    assert pick_layout({"activations.py": b"", "notes.txt": b""}, IDS, name="e") is None
    assert pick_layout({"homework.ipynb": b"", "readme.md": b""}, IDS, name="e") == "homework.ipynb"
    with pytest.raises(EntryError, match="2 code files"):
        pick_layout({"a.py": b"", "b.py": b""}, IDS, name="e")
    with pytest.raises(EntryError, match="no .py or .ipynb"):
        pick_layout({"notes.txt": b""}, IDS, name="e", selected=("activations",))
    with pytest.raises(EntryError, match="no files"):
        pick_layout({}, IDS, name="e")


def test_normalize_unpacks_nested_zip_and_strips_top_folder(make_zip):
    files = {"hw.zip": make_zip({"hw1/activations.py": "x=1\n", "hw1/data/x.txt": "d"})}
    assert normalize_files(files, IDS, name="e", limits=ArchiveLimits()) == {"activations.py": b"x=1\n",
                                                                             "data/x.txt": b"d"}
