"""The ``--json`` report: :meth:`grader.results.GradeResult.to_dict`, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from grader.results import GradeResult

__all__ = ["write_json", "atomic_write_text"]


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=str(p.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; reports are for TAs too
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return p


def write_json(result: GradeResult, path: str | os.PathLike) -> Path:
    """Write ``result`` as JSON (schema in the README) to ``path``; return the path."""
    return atomic_write_text(path, json.dumps(result.to_dict(), indent=2, allow_nan=False, default=str) + "\n")
