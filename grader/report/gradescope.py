"""Gradescope ``results.json`` from a :class:`grader.results.GradeResult`.

Follows Gradescope's documented autograder output format
(https://gradescope-autograders.readthedocs.io/en/latest/specs/#output-format):
a top-level ``score``, ``execution_time``, ``output`` and ``tests[]``; each test has
``name``, ``number``, ``score``, ``max_score``, ``status`` (``"passed"``/``"failed"``),
``output``, ``tags`` and ``visibility`` (``visible``, ``after_due_date``,
``after_published`` or ``hidden``).

One test per graded case (function × case × dtype), numbered
``<assignment>.<case>`` in grading order.  Hidden cases get
``hidden_visibility`` (default ``after_published``: students see them once the
instructor publishes grades); visible cases are ``visible``.  A submission that
could not be graded has no tests, score 0 and the reason as ``output``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from grader.results import CaseResult, GradeResult

__all__ = ["to_gradescope", "write_gradescope", "VISIBILITIES"]

VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
_OUTPUT_CAP = 8000


def _pts(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _case_output(c: CaseResult) -> str:
    lines: list[str] = []
    if c.description:
        lines.append(c.description)
    if c.status == "passed":
        lines.append(f"passed on {c.device}")
        lines.extend(f"note: {n}" for n in c.notes)
    else:
        lines.append(f"status: {c.status.replace('_', ' ')}")
        if c.message:
            lines.append(c.message)
        if c.expected_excerpt or c.got_excerpt:
            lines.append(f"expected {c.expected_excerpt}")
            lines.append(f"got      {c.got_excerpt}")
        if c.diagnosis:
            lines.append(f"Likely mistake: {c.diagnosis.title}. {c.diagnosis.hint}")
    text = "\n".join(lines)
    if len(text) > _OUTPUT_CAP:
        text = text[:_OUTPUT_CAP] + f"\n[... {len(text) - _OUTPUT_CAP} more characters in the HTML report]"
    return text


def to_gradescope(result: GradeResult, *, hidden_visibility: str = "after_published") -> dict:
    """The Gradescope ``results.json`` document of ``result``.

    Args:
        result: a graded (or failed-to-grade) submission.
        hidden_visibility: visibility of hidden cases; one of :data:`VISIBILITIES`.

    Returns:
        A JSON-ready dict: ``score``, ``execution_time`` (whole seconds), ``output``,
        ``output_format``, ``test_output_format``, ``extra_data`` and ``tests``.

    Raises:
        ValueError: ``hidden_visibility`` is not a Gradescope visibility.
    """
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"hidden_visibility must be one of {', '.join(VISIBILITIES)}, not {hidden_visibility!r}")
    tests = []
    summary = []
    for ai, a in enumerate(result.assignments, 1):
        summary.append(f"{a.id}: {_pts(a.score)}/{_pts(a.max_score)} ({a.status.replace('_', ' ')})")
        if a.message and a.status in ("error", "missing"):
            summary.append("  " + a.message.splitlines()[0])
        summary.extend("  note: " + n for n in a.notes)
        for ci, c in enumerate(a.cases, 1):
            tests.append({
                "name": f"{a.id} · {c.function} · {c.id} [{c.dtype}]" + (" (hidden)" if c.hidden else ""),
                "number": f"{ai}.{ci}",
                "score": round(float(c.score), 4),
                "max_score": round(float(c.max_score), 4),
                "status": "passed" if c.status == "passed" else "failed",
                "output": _case_output(c),
                "tags": [a.id, c.function, c.status],
                "visibility": hidden_visibility if c.hidden else "visible",
            })
    for p in result.problems:
        summary.insert(0, f"This submission could not be graded: {p}")
    if result.assignments:
        summary.append(f"Total: {_pts(result.score)}/{_pts(result.max_score)}")
    return {
        "score": round(float(sum(t["score"] for t in tests)), 4),
        "execution_time": int(round(result.seconds)),
        "output": "\n".join(summary),
        "output_format": "text",
        "test_output_format": "text",
        "extra_data": {
            "grader": "grade",
            "versions": dict(result.versions),
            "devices": list(result.devices),
            "max_score": round(float(result.max_score), 4),
            "status": result.status,
            "assignments": {a.id: {"score": round(float(a.score), 4), "max_score": round(float(a.max_score), 4),
                                   "status": a.status} for a in result.assignments},
        },
        "tests": tests,
    }


def write_gradescope(result: GradeResult, path: str | os.PathLike, **kwargs) -> Path:
    """Write :func:`to_gradescope` output atomically to ``path``; return the path."""
    from grader.report.jsonio import atomic_write_text

    doc = to_gradescope(result, **kwargs)
    return atomic_write_text(Path(path), json.dumps(doc, indent=2, allow_nan=False) + "\n")
