"""Resume and cache: content hashes, the batch fingerprint, cache keys and cached results.

Each graded entry is stored under ``DIR/.grade-cache/<key>.json`` (a :class:`CacheRecord`), where
``key`` (:func:`cache_key`) hashes the entry's content, its id, and the batch fingerprint
(:func:`batch_fingerprint`: the grader's version and grading sources, the reference and spec
files, the hidden-case salt, the torch version and the options that change a grade).  Every file
is written atomically (temp file + rename), the cache record last, so a batch killed at any moment
and rerun gives the same gradebook as a clean run.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Callable

from grader.batch.records import CACHE_FORMAT, CacheRecord

__all__ = ["entry_content_hash", "file_sha", "tree_hash", "torch_version", "batch_fingerprint", "cache_key",
           "read_cached", "write_cached"]

_GRADING_CODE_SKIP = re.compile(r"^(report/|templates/|cli/)")
"""Grader sources that do not change a grade (left out of the fingerprint)."""


def entry_content_hash(files: dict[str, bytes]) -> str:
    """sha256 (hex) over the sorted (relative path, content) pairs of an entry."""
    h = hashlib.sha256()
    for rel in sorted(files):
        data = files[rel]
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + str(len(data)).encode() + b"\0")
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()


def file_sha(path: Path) -> str:
    """sha256 (hex) of one file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_hash(root: Path, *, suffixes: tuple[str, ...] | None = None,
              skip: Callable[[str], bool] = lambda rel: False) -> str:
    """sha256 (hex) over the relative paths and contents of the files under ``root``, in sorted order.

    ``__pycache__`` and ``*.pyc`` are left out; with ``suffixes``, only files ending so count;
    ``skip(relative path)`` leaves out more.  A missing ``root`` hashes like an empty one.
    """
    h = hashlib.sha256()
    if not root.is_dir():
        return h.hexdigest()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            if fn.endswith(".pyc") or (suffixes and not fn.endswith(suffixes)):
                continue
            full = Path(dirpath) / fn
            rel = full.relative_to(root).as_posix()
            if skip(rel):
                continue
            h.update(rel.encode() + b"\0")
            try:
                h.update(full.read_bytes())
            except OSError:
                h.update(b"<unreadable>")
            h.update(b"\0")
    return h.hexdigest()


def torch_version() -> str:
    """The installed torch's version (from its package metadata; torch is not imported), or ``unknown``."""
    try:
        from importlib.metadata import version

        return version("torch")
    except Exception:  # pragma: no cover
        return "unknown"


def batch_fingerprint(*, reference_dir: str | os.PathLike, assignments: tuple[str, ...], device: str,
                      time_scale: float, submission_seconds: float) -> str:
    """Everything besides the entry that changes a grade, hashed: grader version and grading sources,
    the reference and spec files (hidden salt included), the torch version and the options."""
    from grader import __version__

    h = hashlib.sha256()
    grader_dir = Path(__file__).resolve().parent.parent  # the grader package
    parts = [
        f"cache-format {CACHE_FORMAT}",
        f"grade {__version__}",
        "grader-sources " + tree_hash(grader_dir, suffixes=(".py",), skip=lambda r: bool(_GRADING_CODE_SKIP.match(r))),
        "reference " + tree_hash(Path(reference_dir).resolve()),
        "salt " + hashlib.sha256(os.environ.get("GRADE_HIDDEN_SALT", "").encode()).hexdigest(),
        f"torch {torch_version()}",
        f"assignments {','.join(assignments)}",
        f"device {device}",
        f"time_scale {time_scale!r}",
        f"submission_seconds {submission_seconds!r}",
    ]
    for p in parts:
        h.update(p.encode() + b"\n")
    return h.hexdigest()


def cache_key(fingerprint: str, entry_id: str, content_hash: str) -> str:
    """The cache key of one entry: sha256 (hex) of the fingerprint, the entry's id and its content hash."""
    return hashlib.sha256(f"{fingerprint}\n{entry_id}\n{content_hash}".encode()).hexdigest()


def read_cached(cache_dir: Path, key: str) -> CacheRecord | None:
    """The record stored under ``key``, or None when there is none or it is damaged (then the entry is regraded)."""
    path = cache_dir / f"{key}.json"
    if not path.is_file():
        return None
    try:
        return CacheRecord.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return None


def write_cached(cache_dir: Path, record: CacheRecord) -> Path:
    """Store ``record`` atomically as ``cache_dir/<key>.json``; return the path."""
    from grader.report.jsonio import atomic_write_text

    return atomic_write_text(cache_dir / f"{record.key}.json", record.to_json())
