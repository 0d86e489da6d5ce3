"""Markdown summary (``grade check --summary FILE``, and ``$GITHUB_STEP_SUMMARY`` in GitHub Actions).

Layout: a heading with the total and the verdict; the student kit's notice
(visible cases only) and any problem (e.g. a stale kit); the minimum-score
verdict when ``--min-score`` is given; a score table per assignment and
function; then the failing cases (first line of the message and the likely
mistake), at most :data:`MAX_FAILING` rows, the rest counted.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

from grader.report.format import assignment_notes, label
from grader.results import CaseResult, GradeResult, function_status
from grader.report.jsonio import atomic_write_text

__all__ = ["render_summary", "write_summary", "MAX_FAILING"]

MAX_FAILING = 60

_ICON = {"passed": "✅", "failed": "❌", "banned": "⛔", "not_implemented": "⬜", "error": "💥",
         "timeout": "⏱️", "skipped": "⏭️", "missing": "⬜"}


def _pts(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _cell(text: str, limit: int = 300) -> str:
    """One Markdown table cell: one line, pipes escaped, HTML-significant characters neutralised."""
    t = " ".join((text or "").split())
    if len(t) > limit:
        t = t[: limit - 1] + "…"
    return t.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _first_line(message: str) -> str:
    for line in (message or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def _status(s: str) -> str:
    return f"{_ICON.get(s, '')} {label(s)}".strip()




def render_summary(result: GradeResult, *, min_score: float | None = None, notice: str | None = None) -> str:
    """``result`` as GitHub-flavoured Markdown (see the module docs)."""
    pct = 100.0 * result.score / result.max_score if result.max_score else 0.0
    if min_score is not None:
        ok = result.score + 1e-9 >= min_score
    else:
        ok = result.passed
    name = os.path.basename(str(result.submission).rstrip("/")) or str(result.submission)
    head = f"## grade: {_pts(result.score)} / {_pts(result.max_score)} points ({pct:.1f}%) {'✅' if ok else '❌'}"
    lines = [head, ""]
    lines.append(f"Submission `{_cell(name)}` · devices: {', '.join(result.devices)} · "
                 f"grade {result.versions.get('grade', '')} · {result.seconds:.1f} s")
    lines.append("")
    if notice:
        lines += ["> [!IMPORTANT]", f"> {_cell(notice, 1000)}", ""]
    for p in result.problems:
        lines += ["> [!WARNING]", f"> {_cell(p, 1000)}", ""]
    if min_score is not None:
        verdict = "reached" if ok else "**not reached**"
        cmp = "≥" if ok else "<"
        lines += [f"Minimum score {_pts(min_score)}: {verdict} ({_pts(result.score)} {cmp} {_pts(min_score)}).", ""]
    elif not result.passed:
        lines += ["Not every case passed.", ""]

    lines += ["| assignment | function | cases passed | score | status |", "|---|---|---:|---:|---|"]
    for a in result.assignments:
        funcs: OrderedDict[str, list[CaseResult]] = OrderedDict()
        for c in a.cases:
            funcs.setdefault(c.function, []).append(c)
        for fname, cases in funcs.items():
            passed = sum(c.status == "passed" for c in cases)
            lines.append(f"| `{a.id}` | `{fname}` | {passed}/{len(cases)} | "
                         f"{_pts(sum(c.score for c in cases))}/{_pts(sum(c.max_score for c in cases))} | "
                         f"{_status(function_status(cases))} |")
        if not funcs:
            lines.append(f"| `{a.id}` | | | 0/{_pts(a.max_score)} | {_status(a.status)} |")
        lines.append(f"| `{a.id}` | **total** | | **{_pts(a.score)}/{_pts(a.max_score)}** | {_status(a.status)} |")
    lines.append("")

    failing = [(a, c) for a in result.assignments for c in a.cases if c.status != "passed"]
    problems_by_assignment = [a for a in result.assignments if a.message and a.status in ("missing", "error")]
    if failing or problems_by_assignment:
        lines += [f"### Failing cases ({len(failing)})", ""]
        for a in problems_by_assignment:
            lines.append(f"- `{a.id}`: {_cell(a.message, 500)}")
        if problems_by_assignment:
            lines.append("")
        if failing:
            lines += ["| case | status | what happened | likely mistake |", "|---|---|---|---|"]
            hinted: set[str] = set()
            for a, c in failing[:MAX_FAILING]:
                label = f"`{a.id}.{c.function}` {c.id} [{c.dtype}]" + (" (hidden)" if c.hidden else "")
                diag = ""
                if c.diagnosis:  # the hint in full once, then the title only
                    diag = f"**{_cell(c.diagnosis.title, 100)}**"
                    if c.diagnosis.id not in hinted:
                        diag += f": {_cell(c.diagnosis.hint, 300)}"
                        hinted.add(c.diagnosis.id)
                lines.append(f"| {label} | {_status(c.status)} | {_cell(_first_line(c.message))} | {diag} |")
            if len(failing) > MAX_FAILING:
                lines.append("")
                lines.append(f"… and {len(failing) - MAX_FAILING} more failing cases: see the HTML report.")
            lines.append("")
    notes = [(a, n) for a in result.assignments for n in assignment_notes(a)]
    if notes:
        lines += [f"### Notes ({len(notes)})", ""]
        for a, n in notes[:MAX_FAILING]:
            lines.append(f"- `{a.id}`: {_cell(n, 500)}")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_summary(result: GradeResult, path: str | os.PathLike, *, min_score: float | None = None,
                  notice: str | None = None, append: bool = False) -> Path:
    """Write the Markdown summary of ``result`` to ``path``; return the path.

    Args:
        min_score: the ``--min-score`` threshold, shown with its verdict.
        notice: the student kit's notice (shown at the top).
        append: append to ``path`` (as GitHub's ``$GITHUB_STEP_SUMMARY`` expects) instead of replacing it.
    """
    text = render_summary(result, min_score=min_score, notice=notice)
    p = Path(path)
    if append:
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "a", encoding="utf-8") as f:
            f.write(text)
        return p
    return atomic_write_text(p, text)
