"""pytest plugin: ``pytest --grade PATH`` grades PATH inside an existing pytest run.

Registered through the ``pytest11`` entry point (installed with the
package); without an install, load it with ``-p grader.pytest_plugin``.

Options:

``--grade PATH``
    a submission (folder of ``<id>.py``, one ``.py`` or a ``.ipynb``), as for ``grade check``.
``--grade-assignment ID``
    grade only this assignment (repeatable).
``--grade-device auto|cpu|cuda``
    devices (default ``auto``).
``--grade-reference DIR``
    references and ``specs/`` (default: as ``grade check``; in a student kit, the kit's data).

The submission is graded once per session, during collection, by
:func:`grader.api.check` (same engine, same verdicts as ``grade check``).
Then one test item is collected per case, dtype and device, named
``<assignment>.<function>::<case>[<dtype>-<device>]`` and marked ``grade``
(``-m grade`` runs only those).  Statuses map as in the JUnit report
(:mod:`grader.report.junit`): ``failed``/``banned``/``not_implemented``
fail, ``error``/``timeout`` fail (as errors in the message), ``skipped``
skips.  The terminal summary adds the score and, in a student kit, the
reminder that hidden cases are graded by the instructor.

This module imports nothing heavy at import time: it is loaded by every
pytest run of an environment where the package is installed.
"""

from __future__ import annotations

import pytest

__all__ = ["GradeFailure", "GradeItem", "GradeFunction"]

_RESULT_KEY = pytest.StashKey[object]()


class GradeFailure(Exception):
    """A graded case that did not pass; its text is the grader's message."""


def pytest_addoption(parser) -> None:
    group = parser.getgroup("grade", "grading hand-written implementations (grader)")
    group.addoption("--grade", action="store", dest="grade_path", default=None, metavar="PATH",
                    help="Grade PATH (folder of <assignment>.py, a .py or a .ipynb): one test per case, dtype "
                         "and device.")
    group.addoption("--grade-assignment", action="append", dest="grade_assignments", default=[], metavar="ID",
                    help="Grade only this assignment (repeatable).")
    group.addoption("--grade-device", action="store", dest="grade_device", default="auto",
                    choices=("auto", "cpu", "cuda"), help="Devices to run on (default: auto).")
    group.addoption("--grade-reference", action="store", dest="grade_reference", default=None, metavar="DIR",
                    help="Folder with the references and specs/ (default: as `grade check`).")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "grade: a case graded by `pytest --grade` (grader plugin)")


class GradeFunction(pytest.Collector):
    """The cases of one function of one assignment (``<assignment>.<function>``)."""

    def __init__(self, *, cases, **kw) -> None:
        super().__init__(**kw)
        self._cases = cases

    def collect(self):
        for case, device, status, message in self._cases:
            yield GradeItem.from_parent(self, name=f"{case.id}[{case.dtype}-{device}]", case=case, device=device,
                                        status=status, message=message)


class GradeItem(pytest.Item):
    """One case, dtype and device of a graded submission."""

    def __init__(self, *, case, device: str, status: str, message: str, **kw) -> None:
        super().__init__(**kw)
        self.case = case
        self.device = device
        self.status = status
        self.message = message
        self.add_marker("grade")

    def runtest(self) -> None:
        from grader.report.junit import junit_status

        kind = junit_status(self.status)
        if kind == "passed":
            return
        if kind == "skipped":
            pytest.skip(self.message or "not run")
        raise GradeFailure(self._text())

    def _text(self) -> str:
        c = self.case
        label = {"not_implemented": "not implemented", "error": "ERROR", "timeout": "TIMEOUT"}.get(self.status,
                                                                                                  self.status)
        lines = [f"{label}: {c.function} {c.id} [{c.dtype}] on {self.device}"
                 + (f" ({c.description})" if c.description else "")]
        lines += ["  " + line for line in (self.message or "").splitlines()]
        if self.status == "failed" and (c.expected_excerpt or c.got_excerpt):
            lines += [f"  expected {c.expected_excerpt}", f"  got      {c.got_excerpt}"]
        if c.diagnosis and self.status == "failed":
            lines.append(f"  Likely mistake: {c.diagnosis.title}. {c.diagnosis.hint}")
        return "\n".join(lines)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, GradeFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"{self.parent.name}::{self.name}"


def _device_runs(c):
    if c.runs:
        out = []
        for r in c.runs:
            if c.status == "banned":
                out.append((r.device, "banned", c.message))
            else:
                out.append((r.device, r.status, r.message))
        return out
    return [(d, c.status, c.message) for d in (c.device.split(",") if c.device else ["cpu"])]


def _grade(config):
    from grader.api import check

    result = check(config.option.grade_path, assignments=tuple(config.option.grade_assignments),
                   device=config.option.grade_device, reference_dir=config.option.grade_reference)
    config.stash[_RESULT_KEY] = result
    return result


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, so they apply to these items too
def pytest_collection_modifyitems(session, config, items) -> None:
    if not config.option.grade_path:
        return
    from grader.submission.load import SubmissionError
    from grader.spec import SpecError

    try:
        result = _grade(config)
    except (SpecError, SubmissionError, ValueError) as e:
        raise pytest.UsageError(f"--grade {config.option.grade_path}: {e}") from None
    for a in result.assignments:
        by_function: dict[str, list] = {}
        for c in a.cases:
            for device, status, message in _device_runs(c):
                by_function.setdefault(c.function, []).append((c, device, status, message))
        for fname, cases in by_function.items():
            # an explicit node id: "<assignment>.<function>::<case>[<dtype>-<device>]", not tied to a file
            col = GradeFunction.from_parent(session, name=f"{a.id}.{fname}", nodeid=f"{a.id}.{fname}", cases=cases)
            items.extend(col.collect())


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not getattr(config.option, "grade_path", None):
        return
    result = config.stash.get(_RESULT_KEY, None)
    if result is None:
        return
    from grader.report.format import kit_notice

    pct = 100.0 * result.score / result.max_score if result.max_score else 0.0
    terminalreporter.write_sep("=", f"grade: {result.score:g}/{result.max_score:g} points ({pct:.1f}%)")
    notice = kit_notice(result)
    if notice:
        terminalreporter.write_line(notice, yellow=True)
    for p in result.problems:
        terminalreporter.write_line(f"problem: {p}", red=True)
