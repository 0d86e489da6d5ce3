"""Judging: from decoded outputs to verdicts.

Everything here runs in the grader's own process, on values decoded by
:mod:`grader.sandbox.wire`; nothing the student's process did can change it.
"""
