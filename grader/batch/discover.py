"""Discovery: the entries of SUBMISSIONS (a folder, or an LMS export ``.zip``), each with a unique
student id, and reading an entry's files with size and count caps.  Nothing is executed or imported.

Id rules per format: :mod:`grader.batch.lms`.  Ids are compared case-insensitively; a repeated
id is reported, the first entry (in name order) keeps it and the others get ``__2``, ``__3``
(:func:`dedupe`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from grader.batch.archive import CODE_SUFFIXES, extract_export, format_size, is_junk
from grader.batch.cache import file_sha
from grader.batch.errors import BatchError, EntryError
from grader.batch.lms import gradescope_entries, lms_entries
from grader.batch.records import ArchiveLimits, Discovery, Entry

__all__ = ["discover", "dedupe", "read_entry"]


def discover(submissions: str | os.PathLike, *, work_dir: str | os.PathLike,
             limits: ArchiveLimits = ArchiveLimits(), exclude: tuple[str | os.PathLike, ...] = ()) -> Discovery:
    """Find the entries of ``submissions`` and give each a student id.

    Args:
        submissions: a folder of entries, or an LMS export ``.zip`` (extracted under ``work_dir``).
        work_dir: where an export zip is extracted (reused on a rerun).
        limits: caps on the export zip.
        exclude: folders that are never entries (the output folder, when it lies inside SUBMISSIONS).

    Returns:
        A :class:`Discovery`, entries sorted by id.

    Raises:
        BatchError: ``submissions`` does not exist, is not a folder or zip, or the export zip is unusable.
    """
    src = Path(submissions)
    notes: list[str] = []
    if not src.exists():
        raise BatchError(f"{submissions}: no such folder or file. Pass a folder holding one entry per student "
                         "(folder, .py, .ipynb or .zip) or an LMS export .zip.")
    if src.is_file():
        if src.suffix.lower() != ".zip":
            raise BatchError(f"{submissions}: expected a folder of submissions or an LMS export .zip, got a "
                             f"{src.suffix or 'plain'} file. To grade one submission use `grade check {src}`.")
        digest = file_sha(src)[:16]
        root, extract_notes = extract_export(src, Path(work_dir) / f"export-{digest}", limits=limits)
        notes.extend(extract_notes)
        # An export packaged with one top folder (Gradescope) is read from that folder.
        while True:
            children = [c for c in root.iterdir() if not is_junk(c.name)]
            if len(children) == 1 and children[0].is_dir() and not any(
                    c.suffix in CODE_SUFFIXES for c in children[0].iterdir() if c.is_file()):
                root = children[0]
                continue
            break
    elif not src.is_dir():
        raise BatchError(f"{submissions}: not a folder or a zip file.")
    else:
        root = src
    skip = {os.path.realpath(x) for x in (*exclude, work_dir)}
    children = sorted((c for c in root.iterdir() if not is_junk(c.name) and os.path.realpath(c) not in skip),
                      key=lambda c: c.name)
    if (root / "submission_metadata.yml").is_file():
        source = "gradescope"
        raw, more = gradescope_entries(root, children)
    else:
        raw, source, more = lms_entries(children)
    notes.extend(more)
    entries, duplicates = dedupe(raw)
    return Discovery(root=str(root), source=source, entries=tuple(entries), duplicates=tuple(duplicates),
                     notes=tuple(notes))


def dedupe(raw: list[Entry]) -> tuple[list[Entry], list[tuple[str, tuple[str, ...]]]]:
    """Make ids unique, case-insensitively: the first entry of an id (in name order) keeps it, the
    others get ``<id>__2``, ``<id>__3`` (skipping ids already taken) and ``duplicate_of=<id>``.

    Returns:
        (entries sorted by id, (id, names of every entry that claimed it) per repeated id).
    """
    by_id: dict[str, list[Entry]] = {}
    for e in sorted(raw, key=lambda e: (e.id.lower(), e.name)):
        by_id.setdefault(e.id.lower(), []).append(e)
    out: list[Entry] = []
    dups: list[tuple[str, tuple[str, ...]]] = []
    taken = {k for k in by_id}
    for key, group in by_id.items():
        first = group[0]
        out.append(first)
        if len(group) > 1:
            dups.append((first.id, tuple(e.name for e in group)))
            n = 2
            for e in group[1:]:
                while f"{first.id}__{n}".lower() in taken:
                    n += 1
                new_id = f"{first.id}__{n}"
                taken.add(new_id.lower())
                out.append(dataclasses.replace(e, id=new_id, duplicate_of=first.id))
    out.sort(key=lambda e: e.id.lower())
    return out, dups


def read_entry(entry: Entry, *, limits: ArchiveLimits = ArchiveLimits()) -> dict[str, bytes]:
    """The entry's files as ``{relative path: bytes}`` (a zip is returned as-is, unpacked later by the task).

    Raises:
        EntryError: the entry has a discovery error, has more than ``limits.entry_files`` files or
            ``limits.entry_bytes`` bytes, or a file cannot be read.
    """
    if entry.error:
        raise EntryError(entry.error)
    if len(entry.files) > limits.entry_files:
        raise EntryError(f"{entry.name}: {len(entry.files)} files; at most {limits.entry_files} are accepted per "
                         "submission.")
    out: dict[str, bytes] = {}
    total = 0
    for rel, path in entry.files:
        try:
            size = os.path.getsize(path)
            total += size
            if total > limits.entry_bytes:
                raise EntryError(f"{entry.name}: more than {format_size(limits.entry_bytes)} of files; a submission "
                                 "of source code should be far smaller. Remove data files and resubmit.")
            with open(path, "rb") as f:
                data = f.read(limits.entry_bytes + 1)
        except OSError as e:
            raise EntryError(f"{entry.name}: {rel} cannot be read ({e.strerror or e}).") from None
        out[rel] = data
    return out
