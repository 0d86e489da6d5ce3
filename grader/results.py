"""Frozen result records and their JSON form (the ``grade check --json`` schema).

Case statuses are :class:`grader.status.Status` (``passed``, ``failed``,
``banned``, ``not_implemented``, ``error``, ``timeout``, ``skipped``). A
crashed submission (error/timeout) is reported differently from a failed
check. Fields added after schema version 1 (``notes``, ``properties``,
``series`` of a case; ``notes`` of an assignment) are optional: a reader of
version 1 ignores them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from grader.status import Status, combine

__all__ = ["Diagnosis", "DeviceRun", "CaseResult", "AssignmentResult", "GradeResult", "STATUSES", "SCHEMA_VERSION",
           "function_status"]

SCHEMA_VERSION = 1
STATUSES = tuple(s.value for s in sorted(Status, key=lambda s: (s is not Status.PASSED, -s.severity)))


def function_status(cases) -> str:
    """One status for a function's cases (:func:`grader.status.combine`)."""
    return combine(c.status for c in cases).value


@dataclass(frozen=True)
class Diagnosis:
    """A named likely mistake, shown only when the evidence fits.

    Attributes:
        id: stable identifier (``"softmax_no_max_shift"``).
        title: short human name.
        hint: what went wrong and how to fix it.
        evidence: why the grader believes it (``"your output matches ... on this case"``).
    """

    id: str
    title: str
    hint: str
    evidence: str = ""


@dataclass(frozen=True)
class DeviceRun:
    """The outcome of one case instance on one device."""

    device: str
    status: str
    message: str = ""
    seconds: float | None = None
    expected_excerpt: str = ""
    got_excerpt: str = ""


@dataclass(frozen=True)
class CaseResult:
    """One case of one function in one dtype, over every device it ran on.

    ``score`` is ``max_score`` only if the case passed on every device, so the
    maximum does not depend on the machine.
    """

    id: str
    function: str
    dtype: str
    device: str
    status: str
    score: float
    max_score: float
    message: str = ""
    diagnosis: Diagnosis | None = None
    description: str = ""
    hidden: bool = False
    expected_excerpt: str = ""
    got_excerpt: str = ""
    banned: tuple[str, ...] = ()
    violations: tuple[str, ...] = ()
    runs: tuple[DeviceRun, ...] = ()
    seconds: float | None = None
    notes: tuple[str, ...] = ()
    properties: tuple[dict, ...] = ()
    series: dict | None = None

    @property
    def key(self) -> str:
        return f"{self.function}/{self.id}/{self.dtype}"

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class AssignmentResult:
    """All cases of one assignment for one submission.

    ``status``: ``passed`` (every case passed), ``failed``, ``not_implemented``
    (nothing implemented), ``missing`` (no module for it), ``error`` (the
    module could not be loaded).

    ``notes``: what the student should know although it cost no points by
    itself, each naming where (``cell 4, line 3``): notebook cells the grader
    skipped or could not run as Jupyter does (a ``%%bash`` cell, a syntax
    error, a cell that raised), shown by every report with the passed cases'
    notes (:func:`grader.report.format.assignment_notes`).
    """

    id: str
    title: str
    status: str
    score: float
    max_score: float
    cases: tuple[CaseResult, ...] = ()
    message: str = ""
    output: tuple[tuple[str, str], ...] = ()
    source_file: str = ""
    notes: tuple[str, ...] = ()

    @property
    def functions(self) -> list[str]:
        seen: list[str] = []
        for c in self.cases:
            if c.function not in seen:
                seen.append(c.function)
        return seen


@dataclass(frozen=True)
class GradeResult:
    """The grade of one submission."""

    submission: str
    score: float
    max_score: float
    assignments: tuple[AssignmentResult, ...]
    devices: tuple[str, ...] = ("cpu",)
    seconds: float = 0.0
    graded_at: str = ""
    versions: dict = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    kit: dict | None = None

    @property
    def passed(self) -> bool:
        return all(a.status == "passed" for a in self.assignments) and bool(self.assignments)

    @property
    def status(self) -> str:
        if self.problems and not self.assignments:
            return "error"
        return "passed" if self.passed else "failed"

    def assignment(self, id: str) -> AssignmentResult:
        for a in self.assignments:
            if a.id == id:
                return a
        raise KeyError(id)

    def cases(self):
        for a in self.assignments:
            yield from a.cases

    def to_dict(self) -> dict[str, Any]:
        """The JSON document written by ``--json`` (see the README for the schema)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "submission": self.submission,
            "status": self.status,
            "score": _r(self.score),
            "max_score": _r(self.max_score),
            "devices": list(self.devices),
            "seconds": round(self.seconds, 3),
            "graded_at": self.graded_at,
            "versions": dict(self.versions),
            "problems": list(self.problems),
            "kit": self.kit,
            "assignments": [
                {
                    "id": a.id,
                    "title": a.title,
                    "status": a.status,
                    "score": _r(a.score),
                    "max_score": _r(a.max_score),
                    "message": a.message,
                    "source_file": a.source_file,
                    "notes": list(a.notes),
                    "output": [{"function": f, "text": t} for f, t in a.output],
                    "cases": [_case_dict(c) for c in a.cases],
                }
                for a in self.assignments
            ],
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "GradeResult":
        """Rebuild a result from :meth:`to_dict` output (for reports of cached results)."""
        assignments = []
        for a in doc.get("assignments", []):
            cases = []
            for c in a.get("cases", []):
                d = c.get("diagnosis")
                cases.append(CaseResult(
                    id=c["id"], function=c["function"], dtype=c["dtype"], device=c["device"], status=c["status"],
                    score=c["score"], max_score=c["max_score"], message=c.get("message", ""),
                    diagnosis=Diagnosis(**d) if d else None, description=c.get("description", ""),
                    hidden=c.get("hidden", False), expected_excerpt=c.get("expected_excerpt", ""),
                    got_excerpt=c.get("got_excerpt", ""), banned=tuple(c.get("banned", ())),
                    violations=tuple(c.get("violations", ())),
                    runs=tuple(DeviceRun(**r) for r in c.get("runs", ())), seconds=c.get("seconds"),
                    notes=tuple(c.get("notes", ())), properties=tuple(c.get("properties", ())),
                    series=c.get("series")))
            assignments.append(AssignmentResult(
                id=a["id"], title=a.get("title", a["id"]), status=a["status"], score=a["score"],
                max_score=a["max_score"], cases=tuple(cases), message=a.get("message", ""),
                output=tuple((o["function"], o["text"]) for o in a.get("output", ())),
                source_file=a.get("source_file", ""), notes=tuple(a.get("notes", ()))))
        return cls(submission=doc.get("submission", ""), score=doc["score"], max_score=doc["max_score"],
                   assignments=tuple(assignments), devices=tuple(doc.get("devices", ("cpu",))),
                   seconds=doc.get("seconds", 0.0), graded_at=doc.get("graded_at", ""),
                   versions=doc.get("versions", {}), problems=tuple(doc.get("problems", ())), kit=doc.get("kit"))


def _r(x: float) -> float:
    return round(float(x), 4)


def _case_dict(c: CaseResult) -> dict[str, Any]:
    d = dataclasses.asdict(c)
    d["score"] = _r(c.score)
    d["max_score"] = _r(c.max_score)
    d["key"] = c.key
    d["banned"] = list(c.banned)
    d["violations"] = list(c.violations)
    d["runs"] = [dataclasses.asdict(r) for r in c.runs]
    d["notes"] = list(c.notes)
    d["properties"] = [dict(p) for p in c.properties]
    d["status"] = str(c.status)
    for r in d["runs"]:
        r["status"] = str(r["status"])
    return d
