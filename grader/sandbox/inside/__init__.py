"""Code that runs inside the student's process (untrusted territory).

:mod:`~grader.sandbox.inside.child` (import the submission, run one case per
request), :mod:`~grader.sandbox.inside.confine` (rlimits, audit hook,
Landlock, seccomp) and :mod:`~grader.sandbox.inside.guard` (run-time
banned-call detection). The student's code can read and attack all of it; the
grader treats what it sends as untrusted data.
"""
