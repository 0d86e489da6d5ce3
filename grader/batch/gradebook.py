"""The gradebook: one :class:`Row` per entry, written as ``gradebook.csv``.

Columns: ``id, name, lms_id, entry, late, <assignment>..., total, max_total, status, reason``.
Scores are points (``1``, ``43.5``; at most four decimals), blank when the entry could not be
graded.  No timing columns: a rerun, a resumed run and a run with other ``-j`` give the same file.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Iterable

from grader.batch.records import Entry, Row

__all__ = ["gradebook_rows", "gradebook_text", "write_gradebook", "read_gradebook"]


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    s = f"{float(x):.4f}".rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


def gradebook_rows(entries: Iterable[Entry], docs: dict[str, dict], errors: dict[str, str],
                   assignments: tuple[str, ...], duplicates: Iterable[tuple[str, tuple[str, ...]]] = ()) -> list[Row]:
    """One :class:`Row` per entry (sorted by id), from the entries' result documents.

    Args:
        entries: the discovered entries.
        docs: ``{id: result document}`` (``status``, ``score``, ``max_score``, ``problems`` and
            ``assignments[].id/score`` are read); a missing id counts as not graded.
        errors: ``{id: why the entry could not be graded}``; only the first line becomes the reason.
        assignments: the score columns, in order.
        duplicates: (id, entry names) of repeated ids (:attr:`grader.batch.records.Discovery.duplicates`).
    """
    dup_names = {i: names for i, names in duplicates}
    rows = []
    for e in entries:
        doc = docs.get(e.id) or {}
        err = errors.get(e.id, "")
        reasons = []
        if e.duplicate_of or e.id in dup_names:
            base = e.duplicate_of or e.id
            reasons.append(f"duplicate id {base}: entries {', '.join(dup_names.get(base, ()))}")
        if err or doc.get("status") == "error":
            reason = err or "; ".join(doc.get("problems", [])) or "not graded"
            reasons.insert(0, reason.splitlines()[0] if reason else reason)
            rows.append(Row(id=e.id, name=e.student_name, lms_id=e.lms_id, entry=e.name, late=e.late,
                            scores=tuple((a, None) for a in assignments), total=None, max_total=None,
                            status="error", reason=" | ".join(reasons)))
            continue
        by_id = {a["id"]: a for a in doc.get("assignments", [])}
        scores = tuple((a, by_id[a]["score"] if a in by_id else None) for a in assignments)
        rows.append(Row(id=e.id, name=e.student_name, lms_id=e.lms_id, entry=e.name, late=e.late, scores=scores,
                        total=doc.get("score"), max_total=doc.get("max_score"), status=doc.get("status", ""),
                        reason=" | ".join(reasons)))
    rows.sort(key=lambda r: r.id.lower())
    return rows


def gradebook_text(rows: Iterable[Row], assignments: tuple[str, ...]) -> str:
    """The text of ``gradebook.csv`` (header line, then one line per row; ``\\n`` line ends)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "name", "lms_id", "entry", "late", *assignments, "total", "max_total", "status", "reason"])
    for r in rows:
        w.writerow([r.id, r.name, r.lms_id, r.entry, "yes" if r.late else "", *(_fmt(s) for _, s in r.scores),
                    _fmt(r.total), _fmt(r.max_total), r.status, r.reason])
    return buf.getvalue()


def write_gradebook(path: str | os.PathLike, rows: Iterable[Row], assignments: tuple[str, ...]) -> Path:
    """Write ``gradebook.csv`` atomically (:func:`gradebook_text`); return the path."""
    from grader.report.jsonio import atomic_write_text

    return atomic_write_text(path, gradebook_text(rows, assignments))


def read_gradebook(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a ``gradebook.csv`` as dicts (header names as keys, every value a string)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
