"""Shared fixtures: the repository root and the process-wide grading worker."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

# Tests fork this process (the grading worker, tests/test_confine.py). A parent whose
# OpenMP pool has started leaves forked children deadlocked in their first parallel
# op, so the test process, like the grader's worker, stays on one intra-op thread.
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

# Data, not tests: student submissions, hostile code and fixture projects are graded (in a sandbox) or
# read, never imported by pytest, even where a name looks like a test module (a mistake id such as
# ``dropout_scaled_at_test`` matches pytest's ``*_test.py``).
DATA_FOLDERS = ("submissions", "hostile", "fixtures")
collect_ignore = list(DATA_FOLDERS)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (holds ``grader/``, ``reference/``, ``assignments/``)."""
    return ROOT


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``tests/fixtures`` (small notebooks and sources for the harness's own tests)."""
    return FIXTURES


@pytest.fixture(scope="session")
def worker():
    """The process-wide grading worker (:func:`grader.api.get_worker`), shared by every test.

    Closed by :func:`grader.api.close_worker` at exit (registered by ``get_worker``).
    """
    from grader.api import get_worker

    return get_worker(reference_dir=ROOT / "reference")


@pytest.fixture(scope="session")
def catalog(worker):
    """The project's catalog (references + specs), loaded once (after the worker has started,
    so the worker can be forked before any reference code is imported)."""
    from grader.catalog.project import load_catalog

    return load_catalog(ROOT / "reference")


@pytest.fixture(scope="session")
def grade(worker, catalog):
    """``grade(path, assignment) -> GradeResult`` on CPU with the shared worker, memoized per session."""
    from grader.api import check

    cache: dict = {}

    def _grade(path, assignment: str):
        key = (str(path), assignment)
        if key not in cache:
            cache[key] = check(path, assignments=(assignment,), device="cpu", worker=worker, catalog=catalog)
        return cache[key]

    return _grade
