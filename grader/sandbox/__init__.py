"""The sandbox: run student code in a confined child process, exchange numbers as data.

Grader side (trusted): :mod:`~grader.sandbox.worker` (the parent: forks
children through the zygote, feeds one case at a time, enforces deadlines
and limits from outside), :mod:`~grader.sandbox.zygote` (the pre-forked
process with torch imported), :mod:`~grader.sandbox.protocol` (typed
records of what crosses the boundary) and :mod:`~grader.sandbox.wire` (the
pickle-free value format, decoded only by the grader).

**Trust boundary:** everything in :mod:`grader.sandbox.inside` runs in the
*student's* process, next to hostile code. Nothing it reports is believed
without the grader's own check.
"""
