"""Name the likely mistake behind a failed case, only when the evidence fits.

Evidence is of two kinds:

* the student's output matches a known-wrong variant of the reference
  (:class:`grader.spec.Mistake`) on the same inputs, while the variant
  itself differs from the expected output;
* a generic pattern with its own proof: NaN/Inf in the output where the
  expected output is finite and the inputs hold large magnitudes (overflow).

Nothing is guessed: no match, no diagnosis.  When two known mistakes both
match one case, :func:`reconcile` picks the one the function's other cases
agree with.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from grader.judge.compare import Mismatch, matches
from grader.results import Diagnosis
from grader.spec import Function, Tolerance
from grader.sandbox.wire import Array, roundtrip

__all__ = ["diagnose", "variant_outputs", "reconcile", "Evidence"]

OVERFLOW = Diagnosis(
    id="overflow",
    title="overflow on large inputs",
    hint=("Your output has NaN or Inf although the true result is finite, and this case has inputs of large "
          "magnitude. exp() overflows above about 88 in float32 and 709 in float64. Subtract the maximum before "
          "exponentiating (softmax and log-sum-exp are shift-invariant), or use a formulation that never "
          "exponentiates a large positive number."),
)


def variant_outputs(function: Function, call, *, cache: dict | None = None) -> dict[str, object]:
    """Decoded outputs of every mistake variant on ``call`` (variants that raise are skipped)."""
    out: dict[str, object] = {}
    for m in function.mistakes:
        try:
            args = copy.deepcopy(call.args)
            kwargs = copy.deepcopy(dict(call.kwargs))
            out[m.id] = roundtrip(m.variant(*args, **kwargs))
        except Exception:
            continue
    return out


def _max_input_magnitude(inputs) -> float:
    """Largest finite |value| among the floating inputs (decoded ``{"args", "kwargs"}``)."""
    import numpy as np

    best = 0.0

    def visit(v):
        nonlocal best
        if isinstance(v, Array) and v.dtype.startswith("float") and v.data.size:
            a = np.abs(v.data[np.isfinite(v.data)])
            if a.size:
                best = max(best, float(a.max()))
        elif isinstance(v, (tuple, list)):
            for x in v:
                visit(x)
        elif isinstance(v, dict):
            for x in v.values():
                visit(x)

    visit(inputs)
    return best


def diagnose(function: Function, inputs, expected, got, mismatches: list[Mismatch], tol: Tolerance,
             variants: dict[str, object]) -> Diagnosis | None:
    """The mistake that explains ``got``, or None.

    Args:
        function: the spec of the function (its mistakes).
        inputs: the decoded inputs ``{"args": ..., "kwargs": ...}``.
        expected: decoded expected output.
        got: decoded student output.
        mismatches: what :func:`grader.judge.compare.compare` found.
        tol: the case's tolerance; a variant matches within 10x that.
        variants: :func:`variant_outputs` for these inputs.
    """
    if not mismatches or any(m.kind == "structure" for m in mismatches):
        return None
    loose = _loose(tol)
    for m in function.mistakes:
        v = variants.get(m.id)
        if v is None:
            continue
        if matches(expected, v, tol=tol):
            continue  # the variant is right on this case: no evidence
        if matches(v, got, tol=loose):
            return Diagnosis(id=m.id, title=m.title or m.id.replace("_", " "), hint=m.hint,
                             evidence="Your output matches this known mistake on this case's inputs.")
    if any(x.kind == "nonfinite" for x in mismatches) and _max_input_magnitude(inputs) > 80:
        return Diagnosis(OVERFLOW.id, OVERFLOW.title, OVERFLOW.hint,
                         evidence="NaN/Inf in your output where the expected output is finite, "
                                  f"with inputs up to {_max_input_magnitude(inputs):.3g} in magnitude.")
    return None


@dataclass(frozen=True)
class Evidence:
    """One case instance of a function, as the grader saw it (input of :func:`reconcile`).

    Attributes:
        expected: decoded expected output.
        got: decoded student output; meaningless when ``has_output`` is False.
        has_output: the student's function returned on this case (no error, timeout...).
        tol: the case's tolerance.
        variants: :func:`variant_outputs` on this case's inputs (may be empty for a passed case:
            then the case gives no evidence).
        diagnosis: what :func:`diagnose` said for this case (None for a passed case).
    """

    expected: object
    got: object
    has_output: bool
    tol: Tolerance
    variants: dict
    diagnosis: Diagnosis | None = None


def _loose(tol: Tolerance) -> Tolerance:
    return Tolerance(rtol=max(tol.rtol * 10, 1e-6), atol=max(tol.atol * 10, 1e-8))


def reconcile(function: Function, evidence: list[Evidence]) -> list[Diagnosis | None]:
    """Choose, across a function's cases, the mistake the evidence fits best.

    :func:`diagnose` names the first mistake whose variant matches the student's
    output on one case; on some cases two variants agree (``log(softmax)`` and
    ``log(sum(exp))`` are both ``inf`` for logits ~1e4).  Here every mistake is
    weighed on every case with an output: it is *contradicted* where its variant
    is wrong but the student's output does not match it (the student's code is
    not that variant), and *supported* where its variant is wrong and matches.
    On a case where several mistakes match, the one with the fewest
    contradictions (then the most support, then the spec's order) is named.

    Args:
        function: the function's spec.
        evidence: one :class:`Evidence` per case instance, in the grader's order.

    Returns:
        The diagnosis per case (unchanged where only one mistake matches, or none).
    """
    order = {m.id: i for i, m in enumerate(function.mistakes)}
    contra = {m.id: 0 for m in function.mistakes}
    support = {m.id: 0 for m in function.mistakes}
    matching: list[list[str]] = []
    for ev in evidence:
        here: list[str] = []
        if ev.has_output:
            for m in function.mistakes:
                v = ev.variants.get(m.id)
                if v is None or matches(ev.expected, v, tol=ev.tol):
                    continue  # no variant, or the variant is right here: no evidence either way
                if matches(v, ev.got, tol=_loose(ev.tol)):
                    support[m.id] += 1
                    here.append(m.id)
                else:
                    contra[m.id] += 1
        matching.append(here)
    out: list[Diagnosis | None] = []
    for ev, here in zip(evidence, matching):
        d = ev.diagnosis
        if d is not None and d.id in order and len(here) > 1:
            best = min(here, key=lambda k: (contra[k], -support[k], order[k]))
            if best != d.id:
                m = next(x for x in function.mistakes if x.id == best)
                d = Diagnosis(id=m.id, title=m.title or m.id.replace("_", " "), hint=m.hint,
                              evidence="Your output matches this known mistake on this case's inputs, and "
                                       "on the other cases too (another known mistake matches here but not "
                                       "elsewhere).")
        out.append(d)
    return out
