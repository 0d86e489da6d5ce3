"""HTML report: one self-contained file rendered from a jinja2 template.

Logic lives here (grouping, counts, which failing cases to show in full);
presentation lives in ``grader/templates/report.html.j2`` (inline CSS, no
scripts, no external assets).  Every string from the submission (messages,
printed output, file names) is autoescaped by jinja2.

Layout, for a student: the score and a one-line verdict first; then "What to
fix": per function that lost points, its first failing case and the first
case of each distinct diagnosed mistake in full (message, expected vs got,
"Likely mistake"), the other failing cases folded; then every result, with
fully passed functions collapsed.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from grader.results import AssignmentResult, CaseResult, GradeResult, function_status
from grader.report.format import assignment_notes, label, loss_curve_svg
from grader.report.jsonio import atomic_write_text

__all__ = ["render_html", "write_html"]

_ENV: Environment | None = None

#: Worst first, for a function's overall status.


def _pts(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _gist(case: CaseResult) -> str:
    """One line that says what went wrong: the exception line of a traceback, else the message's first line."""
    lines = [ln.strip() for ln in (case.message or "").strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    if case.status == "error" and len(lines) > 1 and lines[0].endswith(":"):
        return f"{lines[0]} {lines[-1]}"
    return lines[0]


def _env() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = Environment(loader=PackageLoader("grader", "templates"),
                           autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
                           trim_blocks=True, lstrip_blocks=True)
        _ENV.filters["pts"] = _pts
        _ENV.filters["many"] = lambda n, noun: f"{_pts(n)} {noun}{'' if n == 1 else 's'}"
        _ENV.filters["label"] = label
        _ENV.filters["gist"] = _gist
        _ENV.filters["firstline"] = lambda s: (str(s).strip().splitlines() or [""])[0]
        _ENV.filters["curve"] = lambda series: Markup(loss_curve_svg(series)) if series else ""
    return _ENV


def _pct(score: float, max_score: float) -> float:
    return 100.0 * score / max_score if max_score else 0.0


def _anchor(*parts: str) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_-]+", "_", p) for p in parts)


@dataclass
class _FunctionView:
    name: str
    anchor: str
    cases: list[CaseResult]
    score: float
    max_score: float
    passed: int
    total: int
    status: str
    full: list[CaseResult] = field(default_factory=list)
    folded: list[CaseResult] = field(default_factory=list)
    not_implemented_message: str = ""

    @property
    def pct(self) -> float:
        return _pct(self.score, self.max_score)

    @property
    def failing(self) -> int:
        return self.total - self.passed


@dataclass
class _AssignmentView:
    a: AssignmentResult
    anchor: str
    functions: list[_FunctionView]

    @property
    def notes(self) -> list[str]:
        return assignment_notes(self.a)

    @property
    def pct(self) -> float:
        return _pct(self.a.score, self.a.max_score)

    @property
    def to_fix(self) -> list[_FunctionView]:
        return [f for f in self.functions if f.status != "passed"]

    @property
    def passed_cases(self) -> int:
        return sum(f.passed for f in self.functions)

    @property
    def total_cases(self) -> int:
        return sum(f.total for f in self.functions)




def _function_view(a: AssignmentResult, name: str, cases: list[CaseResult]) -> _FunctionView:
    passed = sum(c.status == "passed" for c in cases)
    f = _FunctionView(name=name, anchor=_anchor(a.id, name), cases=cases, score=sum(c.score for c in cases),
                      max_score=sum(c.max_score for c in cases), passed=passed, total=len(cases),
                      status=function_status(cases))
    bad = [c for c in cases if c.status != "passed"]
    if f.status == "not_implemented":
        msg = bad[0].message if bad else ""
        if msg.lower().startswith("not implemented yet"):  # the engine's stock text: say it once, plainly
            msg = "still raises NotImplementedError" if "NotImplementedError" in msg else ""
        f.not_implemented_message = msg
        return f
    if bad:
        # In full: the first failing case, plus the first case of every other diagnosed mistake.
        full = [bad[0]]
        seen = {bad[0].diagnosis.id} if bad[0].diagnosis else set()
        for c in bad[1:]:
            if c.diagnosis and c.diagnosis.id not in seen:
                seen.add(c.diagnosis.id)
                full.append(c)
        plotted = next((c for c in bad if c.series), None)  # students would rather look than read
        if plotted is not None and plotted not in full:
            full.append(plotted)
        f.full = full
        f.folded = [c for c in bad if c not in full]
    return f


def _views(result: GradeResult) -> list[_AssignmentView]:
    views = []
    for a in result.assignments:
        groups: OrderedDict[str, list[CaseResult]] = OrderedDict()
        for c in a.cases:
            groups.setdefault(c.function, []).append(c)
        views.append(_AssignmentView(a=a, anchor=_anchor(a.id),
                                     functions=[_function_view(a, n, cs) for n, cs in groups.items()]))
    return views


def _verdict(views: list[_AssignmentView]) -> str:
    """One sentence for the top of the page: how many cases passed and what is left."""
    total = sum(v.total_cases for v in views)
    passed = sum(v.passed_cases for v in views)
    if not views:
        return "Nothing was graded."
    if total and passed == total:
        return f"All {total} cases passed. Well done!"
    failing = [f.name for v in views for f in v.to_fix if f.status != "not_implemented"]
    todo = [f.name for v in views for f in v.to_fix if f.status == "not_implemented"]
    if not failing:
        if passed == 0:
            return "Nothing is implemented yet. Fill in the stubs and run grade again."
        return f"{passed} of {total} cases passed. {_count(todo, 'function')} not implemented yet."
    where = ", ".join(failing[:5]) + (f" and {len(failing) - 5} more" if len(failing) > 5 else "")
    text = f"{passed} of {total} cases passed. Points lost in {where}."
    if todo:
        text += f" {_count(todo, 'function')} not implemented yet."
    return text


def _count(items, noun: str) -> str:
    return f"{len(items)} {noun}{'s' if len(items) != 1 else ''}"


def render_html(result: GradeResult, *, title: str | None = None, notice: str | None = None) -> str:
    """Render ``result`` as a self-contained HTML page.

    Args:
        title: page title (default: "grade report: <submission>").
        notice: a highlighted line under the summary (e.g. the kit's hidden-cases notice).

    Returns:
        The page (inline CSS; no scripts, links to external assets or network access).
    """
    views = _views(result)
    name = os.path.basename(str(result.submission).rstrip("/")) or str(result.submission)
    return _env().get_template("report.html.j2").render(
        result=result, assignments=views, pct=_pct(result.score, result.max_score),
        to_fix=[(v, f) for v in views for f in v.to_fix if f.status != "not_implemented"],
        todo=[(v, f) for v in views for f in v.to_fix if f.status == "not_implemented"], verdict=_verdict(views),
        total_cases=sum(v.total_cases for v in views), passed_cases=sum(v.passed_cases for v in views),
        title=title or f"grade report: {name}", heading=title or name, notice=notice)


def write_html(result: GradeResult, path: str | os.PathLike, **kwargs) -> Path:
    """Write :func:`render_html` output atomically to ``path``; return the path.

    ``kwargs`` are passed to :func:`render_html` (``title``, ``notice``).
    """
    return atomic_write_text(path, render_html(result, **kwargs))
