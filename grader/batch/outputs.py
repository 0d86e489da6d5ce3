"""Per-entry outputs: the result document of an entry that could not be graded, the reports rendered
from a result document, and the three files written per entry (``<id>.json``, ``<id>.html``,
``<id>.results.json``), atomically.

Used on both sides: a worker renders the reports of the entry it graded
(:mod:`grader.batch.task`); the run writes them, and renders them again for cached entries whose
files are missing (:mod:`grader.batch.run`).  The gradebook is :mod:`grader.batch.gradebook`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from grader.batch.cache import torch_version

__all__ = ["error_result_doc", "render_reports", "report_title", "doc_text", "write_entry_outputs", "outputs_fresh",
           "clean_temp_files"]


def error_result_doc(name: str, reason: str) -> dict:
    """The ``grade check --json`` document of an entry that could not be graded (status ``error``).

    Args:
        name: the entry's name as found (the document's ``submission``).
        reason: what went wrong and how to fix it (the document's only ``problems`` item).
    """
    import datetime as _dt

    from grader import __version__
    from grader.results import GradeResult

    result = GradeResult(submission=name, score=0.0, max_score=0.0, assignments=(), devices=(),
                         graded_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                         versions={"grade": __version__, "torch": torch_version()}, problems=(reason,))
    return result.to_dict()


def render_reports(doc: dict, *, title: str) -> tuple[str, dict]:
    """(the HTML report, the Gradescope ``results.json`` document) of a result document."""
    from grader.report.gradescope import to_gradescope
    from grader.report.html import render_html
    from grader.results import GradeResult

    result = GradeResult.from_dict(doc)
    return render_html(result, title=title), to_gradescope(result)


def report_title(entry_id: str) -> str:
    """The title of an entry's HTML report."""
    return f"grade report: {entry_id}"


def doc_text(doc: dict) -> str:
    """The text of ``<id>.json`` (indented, no NaN, newline-terminated)."""
    return json.dumps(doc, indent=2, allow_nan=False, default=str) + "\n"


def write_entry_outputs(out: Path, oid: str, doc: dict, html: str, gs: dict) -> None:
    """Write ``<oid>.html``, ``<oid>.results.json`` and, last, ``<oid>.json`` into ``out``, each atomically."""
    from grader.report.jsonio import atomic_write_text

    atomic_write_text(out / f"{oid}.html", html)
    atomic_write_text(out / f"{oid}.results.json", json.dumps(gs, indent=2, allow_nan=False, default=str) + "\n")
    atomic_write_text(out / f"{oid}.json", doc_text(doc))


def outputs_fresh(out: Path, oid: str, doc: dict) -> bool:
    """True when ``out`` holds all three files of ``oid`` and its ``<oid>.json`` is ``doc`` (nothing to rewrite)."""
    target = out / f"{oid}.json"
    return (target.is_file() and (out / f"{oid}.html").is_file() and (out / f"{oid}.results.json").is_file()
            and target.read_text(encoding="utf-8") == doc_text(doc))


def clean_temp_files(folder: Path) -> None:
    """Remove temp files left by an atomic write that was killed midway."""
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if p.is_file() and re.match(r"^\..+\.(json|html|csv)\.[A-Za-z0-9_]{6,}$", p.name):
            p.unlink(missing_ok=True)
