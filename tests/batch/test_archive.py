"""grader.batch.archive: safe member names, entry zips read in memory (junk, unsafe members, links,
bombs), and LMS export zips (size caps)."""

from __future__ import annotations

import io
import zipfile

import pytest

from grader.batch.archive import format_size, read_zip, safe_relpath, safe_write
from grader.batch.discover import discover
from grader.batch.errors import BatchError, EntryError
from grader.batch.records import ArchiveLimits


@pytest.mark.parametrize("name, expected", [("a.py", "a.py"), ("hw/./a.py", "hw/a.py"), ("hw\\a.py", "hw/a.py")])
def test_safe_relpath_accepts_relative_paths(name, expected):
    assert safe_relpath(name) == expected


@pytest.mark.parametrize("name, words", [("../x.py", "'..'"), ("hw/../../x.py", "'..'"), ("/etc/x.py", "absolute"),
                                         ("C:\\x.py", "absolute"), ("\\\\server\\x.py", "absolute")])
def test_safe_relpath_rejects_escaping_paths(name, words):
    with pytest.raises(EntryError, match=words):
        safe_relpath(name)


def test_read_zip_skips_junk_and_keeps_folders(make_zip):
    files = read_zip(make_zip({"hw/activations.py": "x = 1\n", "__MACOSX/hw/._activations.py": b"\0junk",
                               "hw/.DS_Store": b"\0", "hw/__pycache__/a.cpython-311.pyc": b"\0"}), name="s.zip")
    assert files == {"hw/activations.py": b"x = 1\n"}


@pytest.mark.parametrize("member, words", [("../evil.py", "'..'"), ("/abs/evil.py", "absolute")])
def test_read_zip_rejects_unsafe_members(make_zip, member, words):
    data = make_zip({"ok.py": "x = 1\n", member: "x = 2\n"})
    assert member in zipfile.ZipFile(io.BytesIO(data)).namelist()  # the member really has that name
    with pytest.raises(EntryError, match=words):
        read_zip(data, name="s.zip")


def test_read_zip_rejects_symlinks_and_non_zips(make_zip):
    with pytest.raises(EntryError, match="symbolic link"):
        read_zip(make_zip({"a.py": "x=1\n"}, symlink="link.py"), name="s.zip")
    with pytest.raises(EntryError, match="not a readable zip"):
        read_zip(b"this is not a zip", name="s.zip")


def test_read_zip_caps_size_and_count_before_extracting(make_zip):
    bomb = make_zip({"activations.py": b"\0" * 200_000})
    assert len(bomb) < 5_000  # compresses ~100x: a (small) zip bomb
    with pytest.raises(EntryError, match="zip bomb"):
        read_zip(bomb, name="bomb.zip", limits=ArchiveLimits(unzipped_bytes=100_000))
    many = make_zip({f"f{i}.py": "" for i in range(12)})
    with pytest.raises(EntryError, match="12 files"):
        read_zip(many, name="many.zip", limits=ArchiveLimits(entry_files=10))


def test_export_zip_bomb_is_refused(tmp_path, make_zip):
    export = tmp_path / "export.zip"
    export.write_bytes(make_zip({"a_1_2_activations.py": b"\0" * 100_000}))
    with pytest.raises(BatchError, match="expand"):
        discover(export, work_dir=tmp_path / "work", limits=ArchiveLimits(export_bytes=50_000))


def test_safe_write_stays_under_its_root(tmp_path):
    root = tmp_path / "work"
    root.mkdir()
    safe_write(root, {"a.py": b"x", "hw/b.py": b"y"})
    assert (root / "a.py").read_bytes() == b"x" and (root / "hw" / "b.py").read_bytes() == b"y"
    with pytest.raises(EntryError, match="'..'"):
        safe_write(root, {"../escape.py": b"z"})
    assert not (tmp_path / "escape.py").exists()


def test_format_size_units():
    assert [format_size(n) for n in (512, 1536, 128 << 20, 8 << 30)] == ["512 bytes", "1.5 KiB", "128.0 MiB",
                                                                       "8.0 GiB"]


def test_refused_exports_leave_no_partial_extraction(tmp_path, make_zip):
    not_zip = tmp_path / "export.zip"
    not_zip.write_bytes(b"this is not a zip")
    with pytest.raises(BatchError, match="not a readable zip"):
        discover(not_zip, work_dir=tmp_path / "work")
    many = tmp_path / "many.zip"  # refused after the extraction folder was made
    many.write_bytes(make_zip({"a_1_2_activations.py": "x = 1\n", "b_3_4_activations.py": "x = 2\n"}))
    with pytest.raises(BatchError, match="2 files is more than the 1 accepted"):
        discover(many, work_dir=tmp_path / "work", limits=ArchiveLimits(export_files=1))
    assert not (tmp_path / "work").exists() or list((tmp_path / "work").iterdir()) == []
