"""grade: an automated grading harness for hand-written deep-learning implementations.

Pipeline, one module per step: :mod:`grader.loader` (load submission and
specs) → :mod:`grader.sandbox.worker` (run in a child process) → :mod:`grader.judge.compare`
(compare) → :mod:`grader.judge.engine` (score, diagnose) → :mod:`grader.report`
(terminal, JSON, HTML).  :mod:`grader.api` is the Python entry point;
:mod:`grader.cli` is a thin Click layer over it.
"""

__version__ = "0.1.0"
