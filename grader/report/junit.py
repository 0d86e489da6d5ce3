"""JUnit XML (``grade check --junit FILE``) for CI systems.

One ``<testsuite>`` per assignment; one ``<testcase>`` per case, dtype and
device: ``classname`` is ``<assignment>.<function>``, ``name`` is
``<case> [<dtype>] [<device>]``, ``time`` the student's time on that device.

How statuses map (so that nothing that cost points looks green):

==================  =======================================================
case status         JUnit element
==================  =======================================================
``passed``          (none)
``failed``          ``<failure type="failed">``: message, expected vs got, likely mistake
``banned``          ``<failure type="banned">`` on every device (the case earns nothing)
``not_implemented`` ``<failure type="not_implemented">`` (it costs points: not a skip)
``error``           ``<error type="error">`` (raised, crashed, out of memory)
``timeout``         ``<error type="timeout">``
``skipped``         ``<skipped>`` (not run: the submission's time budget ran out)
==================  =======================================================

A case that passed on one device and failed on another gives one passing
and one failing testcase.  Result-level problems (e.g. a stale kit) and the
student kit's notice are ``<property>`` elements of every suite.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from grader.report.format import assignment_notes
from grader.results import AssignmentResult, CaseResult, GradeResult
from grader.report.jsonio import atomic_write_text

__all__ = ["write_junit", "render_junit", "junit_status"]

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FAILURE = {"failed", "banned", "not_implemented"}
_ERROR = {"error", "timeout"}


def _x(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold replaced."""
    return _INVALID_XML.sub("\ufffd", text or "")


def junit_status(status: str) -> str:
    """``"passed"``, ``"failure"``, ``"error"`` or ``"skipped"`` for a case status."""
    if status in _FAILURE:
        return "failure"
    if status in _ERROR:
        return "error"
    if status == "skipped":
        return "skipped"
    return "passed"


def _runs(case: CaseResult) -> list[tuple[str, str, str, float | None, str, str]]:
    """``(device, status, message, seconds, expected, got)`` per device."""
    if case.runs:
        out = []
        for r in case.runs:
            status, message = r.status, r.message
            if case.status == "banned":
                status, message = "banned", case.message
            exp = r.expected_excerpt or (case.expected_excerpt if r.status == "failed" else "")
            got = r.got_excerpt or (case.got_excerpt if r.status == "failed" else "")
            out.append((r.device, status, message, r.seconds, exp, got))
        return out
    devices = [d for d in case.device.split(",") if d] or ["cpu"]
    return [(d, case.status, case.message, case.seconds, case.expected_excerpt, case.got_excerpt) for d in devices]


def _body(case: CaseResult, message: str, exp: str, got: str, status: str) -> str:
    lines = [message.rstrip()] if message else []
    if case.description:
        lines.insert(0, f"case: {case.id} [{case.dtype}]: {case.description}")
    if exp or got:
        lines += [f"expected {exp}", f"got      {got}"]
    if case.diagnosis and status == "failed":
        lines.append(f"Likely mistake: {case.diagnosis.title}. {case.diagnosis.hint}")
        if case.diagnosis.evidence:
            lines.append(f"({case.diagnosis.evidence})")
    return "\n".join(lines)


def _first_line(message: str) -> str:
    for line in (message or "").splitlines():
        if line.strip():
            return line.strip()[:500]
    return ""


def _suite(a: AssignmentResult, result: GradeResult, notice: str | None) -> ET.Element:
    suite = ET.Element("testsuite", name=a.id)
    props = ET.SubElement(suite, "properties")
    for k, v in (("title", a.title), ("score", f"{a.score:g}"), ("max_score", f"{a.max_score:g}"),
                 ("status", a.status), ("devices", ",".join(result.devices))):
        ET.SubElement(props, "property", name=k, value=_x(v))
    if notice:
        ET.SubElement(props, "property", name="notice", value=_x(notice))
    for p in result.problems:
        ET.SubElement(props, "property", name="problem", value=_x(p))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for c in a.cases:
        for device, status, message, seconds, exp, got in _runs(c):
            counts["tests"] += 1
            tc = ET.SubElement(suite, "testcase", classname=f"{a.id}.{c.function}",
                               name=f"{c.id} [{c.dtype}] [{device}]", time=f"{float(seconds or 0.0):.6f}")
            total_time += float(seconds or 0.0)
            if c.hidden:
                tp = ET.SubElement(tc, "properties")
                ET.SubElement(tp, "property", name="hidden", value="true")
            kind = junit_status(status)
            if kind == "passed":
                continue
            head = _first_line(message) or status.replace("_", " ")
            if c.diagnosis and status == "failed":
                head = f"{head} (likely mistake: {c.diagnosis.title})"
            if kind == "failure":
                counts["failures"] += 1
                el = ET.SubElement(tc, "failure", message=_x(head), type=status)
            elif kind == "error":
                counts["errors"] += 1
                el = ET.SubElement(tc, "error", message=_x(head), type=status)
            else:
                counts["skipped"] += 1
                el = ET.SubElement(tc, "skipped", message=_x(head))
            el.text = _x(_body(c, message, exp, got, status))
    if a.message and a.status in ("missing", "error"):
        err = ET.SubElement(suite, "system-err")
        err.text = _x(a.message)
    out_text = "\n".join([f"--- {fn} ---\n{t}" for fn, t in a.output]
                         + [f"--- note ---\n{n}" for n in assignment_notes(a)])
    if out_text:
        so = ET.SubElement(suite, "system-out")
        so.text = _x(out_text)
    for k, v in counts.items():
        suite.set(k, str(v))
    suite.set("time", f"{total_time:.6f}")
    if result.graded_at:
        suite.set("timestamp", result.graded_at)
    return suite


def render_junit(result: GradeResult, *, notice: str | None = None) -> str:
    """``result`` as a JUnit XML document (a ``<testsuites>`` root; see the module docs)."""
    if notice is None:
        from grader.report.format import kit_notice

        notice = kit_notice(result)
    root = ET.Element("testsuites", name=f"grade: {os.path.basename(str(result.submission).rstrip('/')) or 'submission'}")
    suites = [_suite(a, result, notice) for a in result.assignments]
    for s in suites:
        root.append(s)
    for k in ("tests", "failures", "errors", "skipped"):
        root.set(k, str(sum(int(s.get(k, "0")) for s in suites)))
    root.set("time", f"{result.seconds:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(result: GradeResult, path: str | os.PathLike, *, notice: str | None = None) -> Path:
    """Write ``result`` as JUnit XML to ``path`` (atomically); return the path.

    Args:
        notice: the student kit's notice (default: :func:`grader.report.format.kit_notice` of ``result``).
    """
    return atomic_write_text(path, render_junit(result, notice=notice))
