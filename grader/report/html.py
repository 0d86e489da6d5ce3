"""HTML report: one self-contained file rendered from a jinja2 template.

Logic lives here (grouping, percentages); presentation lives in
``grader/templates/report.html.j2`` (inline CSS, no external assets).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from ..results import GradeResult
from .jsonio import atomic_write_text

__all__ = ["render_html", "write_html"]

_ENV: Environment | None = None


def _env() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = Environment(loader=PackageLoader("grader", "templates"),
                           autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
        _ENV.filters["pts"] = lambda x: (f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x)))
    return _ENV


def _pct(score: float, max_score: float) -> float:
    return 100.0 * score / max_score if max_score else 0.0


def render_html(result: GradeResult, *, title: str | None = None, notice: str | None = None) -> str:
    """Render ``result`` as a self-contained HTML page.

    Args:
        title: page title (default: "grade report: <submission>").
        notice: a highlighted line under the summary (e.g. the kit's hidden-cases notice).
    """
    assignments = []
    for a in result.assignments:
        functions: OrderedDict[str, list] = OrderedDict()
        for c in a.cases:
            functions.setdefault(c.function, []).append(c)
        fsum = []
        for name, cases in functions.items():
            score = sum(c.score for c in cases)
            mx = sum(c.max_score for c in cases)
            fsum.append({"name": name, "cases": cases, "score": score, "max_score": mx,
                         "passed": sum(c.status == "passed" for c in cases), "total": len(cases),
                         "pct": _pct(score, mx)})
        assignments.append({"a": a, "functions": fsum, "pct": _pct(a.score, a.max_score)})
    return _env().get_template("report.html.j2").render(
        result=result, assignments=assignments, pct=_pct(result.score, result.max_score),
        title=title or f"grade report: {os.path.basename(str(result.submission).rstrip('/')) or result.submission}",
        notice=notice)


def write_html(result: GradeResult, path: str | os.PathLike, **kwargs) -> Path:
    """Write :func:`render_html` output atomically to ``path``; return the path."""
    return atomic_write_text(path, render_html(result, **kwargs))
