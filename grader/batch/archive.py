"""Safe reading of what students and LMSs hand in: archive member names, entry zips (in memory),
LMS export zips (extracted once), folders walked without following links, files written under a root.

Nothing here is executed or imported; every size and count is capped (:class:`ArchiveLimits`)
before it is read, and again while reading (zip headers may lie).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import zipfile
from pathlib import Path

from grader.batch.errors import BatchError, EntryError
from grader.batch.records import ArchiveLimits

__all__ = ["safe_relpath", "read_zip", "extract_export", "walk_files", "safe_write", "is_junk", "format_size",
           "JUNK_NAMES", "CODE_SUFFIXES"]

JUNK_NAMES = frozenset({"__MACOSX", "__pycache__", "Thumbs.db", "desktop.ini"})
"""File and folder names that are never part of a submission (with hidden files, ``*.pyc`` and ``~$*``)."""
CODE_SUFFIXES = (".py", ".ipynb")


def is_junk(part: str) -> bool:
    """True for one path component that is never part of a submission (hidden, OS or editor junk, bytecode)."""
    return part.startswith(".") or part in JUNK_NAMES or part.endswith(".pyc") or part.startswith("~$")


def format_size(n: float) -> str:
    """``n`` bytes for a message: ``512 bytes``, ``1.5 KiB``, ``128.0 MiB``, ``8.0 GiB``."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


def safe_relpath(name: str) -> str:
    """A member name from an archive as a safe relative POSIX path.

    Backslashes count as separators; ``.`` components are dropped.

    Raises:
        EntryError: the name is absolute (``/x``, ``C:\\x``, ``\\\\server\\x``), has a ``..``
            component or a NUL byte, or is empty.
    """
    raw = name.replace("\\", "/")
    if "\x00" in raw:
        raise EntryError(f"unsafe path {name!r} in the archive: it contains a NUL byte.")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise EntryError(f"unsafe path {name!r} in the archive: absolute paths are not allowed "
                         "(nothing was extracted). Zip the files with relative paths.")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise EntryError(f"unsafe path {name!r} in the archive: '..' would leave the submission's folder "
                         "(nothing was extracted). Zip the files with relative paths.")
    if not parts:
        raise EntryError(f"empty member name {name!r} in the archive.")
    return "/".join(parts)


def read_zip(data: bytes, *, name: str, limits: ArchiveLimits = ArchiveLimits()) -> dict[str, bytes]:
    """The members of a zip archive, in memory: ``{safe relative path: bytes}``.

    Directories and junk (``__MACOSX``, hidden files, ``__pycache__``) are left out.
    Nothing touches the disk.

    Args:
        data: the archive's bytes.
        name: the archive's name, for messages.
        limits: ``entry_files`` and ``unzipped_bytes`` caps.

    Raises:
        EntryError: not a zip, encrypted, a member with an unsafe path or a symbolic
            link, too many members, or more than ``limits.unzipped_bytes`` once
            uncompressed (a zip bomb).
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise EntryError(f"{name}: not a readable zip archive ({e}). Re-create it with a standard zip tool.") from None
    with zf:
        infos = zf.infolist()
        members = [i for i in infos if not i.is_dir()]
        if len(members) > limits.entry_files:
            raise EntryError(f"{name}: the archive has {len(members)} files; at most {limits.entry_files} are "
                             "accepted per submission (nothing was extracted).")
        declared = sum(i.file_size for i in members)
        if declared > limits.unzipped_bytes:
            raise EntryError(f"{name}: the archive would expand to {format_size(declared)} (more than the "
                             f"{format_size(limits.unzipped_bytes)} allowed per submission; a zip bomb?). Nothing "
                             "was extracted.")
        checked: list[tuple[zipfile.ZipInfo, str]] = []
        for info in infos:
            rel = safe_relpath(info.filename)
            mode = (info.external_attr >> 16) & 0o170000
            if mode == stat.S_IFLNK:
                raise EntryError(f"{name}: member {info.filename!r} is a symbolic link; links are not accepted "
                                 "(nothing was extracted).")
            if info.flag_bits & 0x1:
                raise EntryError(f"{name}: member {info.filename!r} is encrypted; submit an archive without a "
                                 "password.")
            if not info.is_dir():
                checked.append((info, rel))
        out: dict[str, bytes] = {}
        budget = limits.unzipped_bytes
        for info, rel in checked:
            if any(is_junk(p) for p in rel.split("/")):
                continue
            try:
                with zf.open(info) as f:
                    chunks = []
                    got = 0
                    while True:
                        chunk = f.read(1 << 16)
                        if not chunk:
                            break
                        got += len(chunk)
                        if got > budget:
                            raise EntryError(f"{name}: the archive expands beyond "
                                             f"{format_size(limits.unzipped_bytes)} (its headers understate the "
                                             "sizes; a zip bomb?). Nothing was extracted.")
                        chunks.append(chunk)
            except EntryError:
                raise
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as e:
                raise EntryError(f"{name}: member {info.filename!r} cannot be read ({type(e).__name__}: {e}).") \
                    from None
            budget -= got
            if rel in out:
                raise EntryError(f"{name}: the archive holds {rel!r} twice.")
            out[rel] = b"".join(chunks)
        return out


def extract_export(zip_path: Path, dest: Path, *, limits: ArchiveLimits) -> tuple[Path, list[str]]:
    """Extract an LMS export zip under ``dest`` (once; reused when already complete).

    Extraction goes to ``dest.partial-<pid>`` and is renamed to ``dest`` when complete, so a
    killed run never leaves a half-extracted export that a rerun would trust.  Members with
    unsafe paths, links and unreadable members are skipped and noted; junk is dropped
    (except Gradescope's ``submission_metadata.yml``).

    Returns:
        (the folder holding the extracted files, notes on skipped members).

    Raises:
        BatchError: not a zip, more than ``limits.export_files`` members, or more than
            ``limits.export_bytes`` uncompressed (declared, or found while extracting).
    """
    notes: list[str] = []
    done = dest / ".complete"
    if done.is_file():
        return dest / "files", json.loads(done.read_text() or "[]")
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as e:
        raise BatchError(f"{zip_path}: not a readable zip archive ({e}). Pass the LMS's 'download all "
                         "submissions' zip, or a folder of submissions.") from None
    tmp = dest.with_name(dest.name + f".partial-{os.getpid()}")
    with zf:
        try:
            shutil.rmtree(tmp, ignore_errors=True)
            (tmp / "files").mkdir(parents=True)
            _extract_members(zf, zip_path, tmp / "files", limits=limits, notes=notes)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # a refused or interrupted export leaves nothing behind
            raise
    (tmp / ".complete").write_text(json.dumps(notes))
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest / "files", notes


def _extract_members(zf: zipfile.ZipFile, zip_path: Path, files_dir: Path, *, limits: ArchiveLimits,
                     notes: list[str]) -> None:
    """Extract the members of ``zf`` into ``files_dir`` (see :func:`extract_export`); skipped ones go to ``notes``."""
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > limits.export_files:
        raise BatchError(f"{zip_path}: {len(infos)} files is more than the {limits.export_files} accepted in "
                         "an export; nothing was extracted.")
    declared = sum(i.file_size for i in infos)
    if declared > limits.export_bytes:
        raise BatchError(f"{zip_path}: the export would expand to {format_size(declared)}, more than "
                         f"{format_size(limits.export_bytes)}; nothing was extracted.")
    budget = limits.export_bytes
    for info in infos:
        try:
            rel = safe_relpath(info.filename)
        except EntryError as e:
            notes.append(f"skipped export member: {e}")
            continue
        if (info.external_attr >> 16) & 0o170000 == stat.S_IFLNK:
            notes.append(f"skipped export member {info.filename!r}: symbolic link")
            continue
        if any(is_junk(p) for p in rel.split("/")) and not rel.endswith("submission_metadata.yml"):
            continue
        target = files_dir / rel
        if not str(target.resolve()).startswith(str(files_dir.resolve()) + os.sep):
            notes.append(f"skipped export member {info.filename!r}: outside the work folder")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with zf.open(info) as src, open(target, "wb") as dst:
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    budget -= len(chunk)
                    if budget < 0:
                        raise BatchError(f"{zip_path}: expands beyond {format_size(limits.export_bytes)} "
                                         "(headers understate sizes); stopped.")
                    dst.write(chunk)
        except (zipfile.BadZipFile, OSError, NotImplementedError, EOFError) as e:
            notes.append(f"skipped export member {info.filename!r}: cannot be read ({e})")
            target.unlink(missing_ok=True)


def walk_files(folder: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """The regular files under ``folder``, sorted, junk left out, links never followed.

    Returns:
        ((relative POSIX path, absolute path) pairs, notes on skipped links and special files).
    """
    files: list[tuple[str, str]] = []
    notes: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not is_junk(d))
        for fn in sorted(filenames):
            if is_junk(fn):
                continue
            full = Path(dirpath) / fn
            rel = full.relative_to(folder).as_posix()
            if full.is_symlink() or not full.is_file():
                notes.append(f"{folder.name}/{rel}: skipped (a link or not a regular file)")
                continue
            files.append((rel, str(full)))
    return files, notes


def safe_write(root: Path, files: dict[str, bytes]) -> None:
    """Write ``{relative path: bytes}`` under ``root`` (folders created).

    Raises:
        EntryError: a path is unsafe (:func:`safe_relpath`) or would resolve outside ``root``.
    """
    base = root.resolve()
    for rel, data in files.items():
        target = (base / safe_relpath(rel)).resolve()
        if not str(target).startswith(str(base) + os.sep):
            raise EntryError(f"unsafe path {rel!r}: it would leave the submission's folder.")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
