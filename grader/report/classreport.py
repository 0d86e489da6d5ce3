"""The class report of a batch: one self-contained HTML page.

Shows the score histogram, per-assignment and per-case pass rates, the most
frequent diagnoses (named mistakes), entries that could not be graded, and
duplicate ids, with a table linking every student's own report.  Plots are
drawn with matplotlib's Agg canvas (no display, no pyplot state) and embedded
as base64 PNG; without matplotlib the page keeps its tables and says so.

Logic lives here; presentation in ``grader/templates/class_report.html.j2``.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import os
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any, Iterable

from grader.report.jsonio import atomic_write_text

__all__ = ["summarize", "class_stats", "render_class_report", "write_class_report"]


def summarize(doc: dict, *, id: str, error: str = "") -> dict:
    """A compact summary of one ``grade check --json`` document, for the class report.

    Returns:
        ``{"id", "entry", "status", "score", "max_score", "error", "assignments": [{"id", "title",
        "status", "score", "max_score"}], "cases": [[key, status, diagnosis id or None, hidden]],
        "diagnoses": {id: {"title", "hint"}}}``; a case key is ``<assignment>/<function>/<case>/<dtype>``.
    """
    cases = []
    diagnoses: dict[str, dict] = {}
    for a in doc.get("assignments", []):
        for c in a.get("cases", []):
            d = c.get("diagnosis")
            if d:
                diagnoses.setdefault(d["id"], {"title": d.get("title", d["id"]), "hint": d.get("hint", "")})
            key = c.get("key") or f"{c['function']}/{c['id']}/{c['dtype']}"
            cases.append([f"{a['id']}/{key}", c.get("status", ""), d["id"] if d else None, bool(c.get("hidden"))])
    status = doc.get("status", "error")
    if error:
        status = "error"
    return {
        "id": id, "entry": doc.get("submission", ""), "status": status,
        "score": float(doc.get("score") or 0.0), "max_score": float(doc.get("max_score") or 0.0),
        "error": error or ("; ".join(doc.get("problems", [])) if status == "error" else ""),
        "assignments": [{"id": a["id"], "title": a.get("title", a["id"]), "status": a.get("status", ""),
                         "score": float(a.get("score") or 0.0), "max_score": float(a.get("max_score") or 0.0)}
                        for a in doc.get("assignments", [])],
        "cases": cases, "diagnoses": diagnoses,
    }


def _pct(x: float, mx: float) -> float:
    return 100.0 * x / mx if mx else 0.0


def class_stats(summaries: Iterable[dict], *, assignments: Iterable[str] = ()) -> dict[str, Any]:
    """Statistics over :func:`summarize` outputs.

    Returns:
        ``{"n", "graded", "errors", "totals_pct", "mean_pct", "median_pct", "passed_all",
        "assignments": [...], "cases": [...], "diagnoses": [...]}``: per assignment the mean score,
        mean percentage and pass rate; per case the pass rate, the most common non-passing status and
        diagnosis (sorted hardest first); per diagnosis the number of submissions it was seen in
        (most frequent first) with up to eight example ids.
    """
    summaries = list(summaries)
    graded = [s for s in summaries if s["status"] != "error"]
    totals = [_pct(s["score"], s["max_score"]) for s in graded]
    order = list(assignments)
    per_a: "OrderedDict[str, dict]" = OrderedDict((a, {"id": a, "title": a, "n": 0, "score": 0.0, "max_score": 0.0,
                                                        "pct_sum": 0.0, "passed": 0, "statuses": Counter()})
                                                  for a in order)
    per_c: "OrderedDict[str, dict]" = OrderedDict()
    diag_subs: dict[str, list[str]] = {}
    diag_cases: Counter = Counter()
    diag_info: dict[str, dict] = {}
    for s in graded:
        for a in s["assignments"]:
            st = per_a.setdefault(a["id"], {"id": a["id"], "title": a["title"], "n": 0, "score": 0.0,
                                            "max_score": 0.0, "pct_sum": 0.0, "passed": 0, "statuses": Counter()})
            st["title"] = a["title"]
            st["n"] += 1
            st["score"] += a["score"]
            st["max_score"] = max(st["max_score"], a["max_score"])
            st["pct_sum"] += _pct(a["score"], a["max_score"])
            st["passed"] += a["status"] == "passed"
            st["statuses"][a["status"]] += 1
        seen: set[str] = set()
        for key, status, diag, hidden in s["cases"]:
            c = per_c.setdefault(key, {"key": key, "n": 0, "passed": 0, "statuses": Counter(), "diags": Counter(),
                                       "hidden": hidden})
            c["n"] += 1
            c["passed"] += status == "passed"
            if status != "passed":
                c["statuses"][status] += 1
            if diag:
                c["diags"][diag] += 1
                diag_cases[diag] += 1
                seen.add(diag)
        for d in seen:
            diag_subs.setdefault(d, []).append(s["id"])
        diag_info.update(s["diagnoses"])
    a_rows = []
    for st in per_a.values():
        n = st["n"]
        a_rows.append({"id": st["id"], "title": st["title"], "n": n, "mean_score": st["score"] / n if n else 0.0,
                       "max_score": st["max_score"], "mean_pct": st["pct_sum"] / n if n else 0.0,
                       "pass_rate": 100.0 * st["passed"] / n if n else 0.0,
                       "statuses": ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in st["statuses"].most_common())})
    c_rows = []
    for c in per_c.values():
        top_status = c["statuses"].most_common(1)
        top_diag = c["diags"].most_common(1)
        c_rows.append({"key": c["key"], "n": c["n"], "passed": c["passed"], "hidden": c["hidden"],
                       "pass_rate": 100.0 * c["passed"] / c["n"] if c["n"] else 0.0,
                       "top_status": top_status[0][0].replace("_", " ") if top_status else "",
                       "top_diagnosis": diag_info.get(top_diag[0][0], {}).get("title", top_diag[0][0])
                       if top_diag else ""})
    c_rows.sort(key=lambda r: (r["pass_rate"], r["key"]))
    d_rows = [{"id": d, "title": diag_info.get(d, {}).get("title", d), "hint": diag_info.get(d, {}).get("hint", ""),
               "submissions": len(ids), "cases": diag_cases[d], "examples": sorted(ids)[:8]}
              for d, ids in diag_subs.items()]
    d_rows.sort(key=lambda r: (-r["submissions"], -r["cases"], r["id"]))
    srt = sorted(totals)
    median = (srt[len(srt) // 2] if len(srt) % 2 else (srt[len(srt) // 2 - 1] + srt[len(srt) // 2]) / 2) if srt else 0.0
    return {
        "n": len(summaries), "graded": len(graded), "errors": len(summaries) - len(graded),
        "totals_pct": totals, "mean_pct": sum(totals) / len(totals) if totals else 0.0, "median_pct": median,
        "passed_all": sum(s["status"] == "passed" for s in graded),
        "assignments": a_rows, "cases": c_rows, "diagnoses": d_rows,
    }


# ---------------------------------------------------------------------------
# plots


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(stats: dict) -> dict[str, str]:
    plots: dict[str, str] = {}
    if not stats["graded"]:
        return plots
    fig = _figure(7.5, 3.0)
    ax = fig.add_subplot()
    bins = list(range(0, 101, 5))
    ax.hist([min(max(x, 0.0), 100.0) for x in stats["totals_pct"]], bins=bins, color="#2da44e", edgecolor="white")
    ax.set_xlabel("total score (% of maximum)")
    ax.set_ylabel("submissions")
    ax.set_xlim(0, 100)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"{stats['graded']} graded submissions · mean {stats['mean_pct']:.1f}% · median "
                 f"{stats['median_pct']:.1f}%", fontsize=10)
    plots["histogram"] = _png(fig)

    rows = stats["assignments"]
    if rows:
        fig = _figure(7.5, 0.45 * len(rows) + 1.0)
        ax = fig.add_subplot()
        ys = list(range(len(rows)))
        ax.barh([y + 0.2 for y in ys], [r["mean_pct"] for r in rows], height=0.4, color="#0969da",
                label="mean score %")
        ax.barh([y - 0.2 for y in ys], [r["pass_rate"] for r in rows], height=0.4, color="#2da44e",
                label="passed every case %")
        ax.set_yticks(ys, [r["id"] for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.legend(loc="lower right", fontsize=8)
        plots["assignments"] = _png(fig)

    hardest = [c for c in stats["cases"] if c["pass_rate"] < 100.0][:20]
    if hardest:
        fig = _figure(7.5, 0.28 * len(hardest) + 1.0)
        ax = fig.add_subplot()
        ax.barh(range(len(hardest)), [c["pass_rate"] for c in hardest], color="#cf222e")
        ax.set_yticks(range(len(hardest)), [c["key"] for c in hardest], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("pass rate (%)")
        ax.set_title("hardest cases", fontsize=10)
        plots["cases"] = _png(fig)

    diags = stats["diagnoses"][:15]
    if diags:
        fig = _figure(7.5, 0.3 * len(diags) + 1.0)
        ax = fig.add_subplot()
        ax.barh(range(len(diags)), [d["submissions"] for d in diags], color="#8250df")
        ax.set_yticks(range(len(diags)), [d["title"][:60] for d in diags], fontsize=8)
        ax.invert_yaxis()
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("submissions showing the mistake")
        plots["diagnoses"] = _png(fig)
    return plots


# ---------------------------------------------------------------------------
# page


def render_class_report(*, summaries: Iterable[dict], rows: Iterable[Any] = (), assignments: Iterable[str] = (),
                        discovery: Any = None, title: str = "grade: class report") -> str:
    """Render the class report page.

    Args:
        summaries: :func:`summarize` outputs, one per entry.
        rows: the gradebook rows (:class:`grader.batch.run.Row`), for the entries table.
        assignments: assignment ids in column order.
        discovery: the batch's :class:`grader.batch.run.Discovery` (duplicates, notes), or None.
        title: page title.
    """
    from grader.report.html import _env

    summaries = list(summaries)
    stats = class_stats(summaries, assignments=assignments)
    try:
        plots = _plots(stats)
        plot_note = ""
    except ImportError:
        plots, plot_note = {}, "Plots need matplotlib: pip install matplotlib."
    by_id = {s["id"]: s for s in summaries}
    entries = []
    for r in rows:
        s = by_id.get(r.id, {})
        entries.append({"row": r, "pct": _pct(s.get("score", 0.0), s.get("max_score", 0.0)) if s else 0.0})
    return _env().get_template("class_report.html.j2").render(
        title=title, stats=stats, plots=plots, plot_note=plot_note, entries=entries,
        assignments=list(assignments), discovery=discovery,
        errors=[s for s in summaries if s["status"] == "error"],
        generated=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))


def write_class_report(path: str | os.PathLike, **kwargs) -> Path:
    """Write :func:`render_class_report` output atomically to ``path``; return the path."""
    return atomic_write_text(path, render_class_report(**kwargs))
