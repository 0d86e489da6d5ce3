"""Formatting shared by every report (terminal, HTML, JUnit, Markdown summary, Gradescope)."""

from __future__ import annotations

import math

__all__ = ["pts", "size", "label", "assignment_notes", "loss_curve_svg", "kit_notice"]


def pts(x: float) -> str:
    """Points as people write them: ``2``, ``1.5``, ``0.25`` (no trailing zeros)."""
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def label(status) -> str:
    """How reports write a status: a case status's :attr:`grader.status.Status.label`, or an
    assignment status (``missing``) with underscores as spaces."""
    from grader.status import Status

    try:
        return Status(str(status)).label
    except ValueError:
        return str(status).replace("_", " ")


def size(n: int) -> str:
    """A byte count as ``512 B``, ``1.5 KB``, ``360 MB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n} B"


def kit_notice(result) -> str | None:
    """The student kit's reminder that hidden cases are graded later, or None in the full project."""
    kit = getattr(result, "kit", None)
    if not kit:
        return None
    hidden = kit.get("hidden_cases", 0)
    return (f"Student kit {kit.get('version', '')}: this score covers the visible cases only. "
            f"{hidden} hidden case(s) are graded by your instructor; this is not your final grade.")


def assignment_notes(a) -> list[str]:
    """An assignment's notes (skipped notebook magics, cells that raised), then one note per function
    from its passed cases (a pass that relied on the scale-aware tolerance), without repeats."""
    out = list(getattr(a, "notes", ()))
    seen = set(out)
    for c in a.cases:
        if c.status == "passed":
            for n in c.notes:
                key = (c.function, n.split(";")[0])
                if key not in seen:
                    seen.add(key)
                    out.append(f"{c.function}: {n}")
    return out


def loss_curve_svg(series: dict, *, width: int = 560, height: int = 220) -> str:
    """An inline SVG of a trajectory case's two loss curves (reference and the student's).

    ``series``: ``{"title", "steps", "reference", "yours", "parted_at"}`` as in
    :attr:`grader.results.CaseResult.series`. A log scale is used when every
    loss is positive and they span more than two decades. Returns markup with
    every text escaped.
    """
    from html import escape

    steps = list(series.get("steps") or [])
    ref = [float(v) for v in series.get("reference") or []]
    you = [float(v) for v in series.get("yours") or []]
    vals = [v for v in ref + you if math.isfinite(v)]
    if not steps or not vals:
        return ""
    log = min(vals) > 0 and max(vals) / min(vals) > 100
    f = (lambda v: math.log10(v)) if log else (lambda v: v)
    lo, hi = min(f(v) for v in vals), max(f(v) for v in vals)
    if hi - lo < 1e-12:
        lo, hi = lo - 1, hi + 1
    left, right, top, bottom = 58, 12, 22, 30
    x0, x1 = steps[0], steps[-1] if steps[-1] > steps[0] else steps[0] + 1

    def xy(i, v):
        x = left + (steps[i] - x0) / (x1 - x0) * (width - left - right)
        y = top + (hi - f(v)) / (hi - lo) * (height - top - bottom)
        return f"{x:.1f},{y:.1f}"

    def line(vs, cls):
        pts_ = " ".join(xy(i, v) for i, v in enumerate(vs) if i < len(steps) and math.isfinite(v) and (not log or v > 0))
        return f'<polyline class="{cls}" fill="none" points="{pts_}"/>' if pts_ else ""

    def label(v):
        return f"1e{v:.0f}" if log else f"{v:.3g}"

    parts = [f'<svg class="curve" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="loss per step: reference and yours">',
             f'<text x="{left}" y="14" class="t">{escape(str(series.get("title", "loss")))}: loss per step'
             f'{" (log scale)" if log else ""}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" class="ax"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" class="ax"/>',
             f'<text x="{left - 4}" y="{top + 4}" class="yl">{label(hi)}</text>',
             f'<text x="{left - 4}" y="{height - bottom}" class="yl">{label(lo)}</text>',
             f'<text x="{left}" y="{height - 10}" class="xl">step {x0}</text>',
             f'<text x="{width - right}" y="{height - 10}" class="xl end">step {steps[-1]}</text>']
    parted = series.get("parted_at")
    if parted:
        px = left + (min(max(parted, x0), x1) - x0) / (x1 - x0) * (width - left - right)
        parts.append(f'<line x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{height - bottom}" class="part"/>')
        parts.append(f'<text x="{px + 4:.1f}" y="{top + 12}" class="xl">parts at step {int(parted)}</text>')
    parts += [line(ref, "ref"), line(you, "you"),
              f'<text x="{width - right}" y="{top + 12}" class="lg-ref end">reference</text>',
              f'<text x="{width - right}" y="{top + 26}" class="lg-you end">yours</text>', "</svg>"]
    return "".join(parts)
