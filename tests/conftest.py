"""Shared fixtures: the repository root and the process-wide grading worker."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

# Tests fork this process (the grading worker, tests/sandbox/test_confine.py). A parent whose
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


def _leaves(v, where: str = "output") -> list[tuple[str, object]]:
    """(where, tensor) for every tensor in nested tuples, lists and dicts (dict keys sorted)."""
    if isinstance(v, torch.Tensor):
        return [(where, v)]
    if isinstance(v, dict):
        return [x for k in sorted(v) for x in _leaves(v[k], f"{where}[{k!r}]")]
    if isinstance(v, (tuple, list)):
        return [x for i, item in enumerate(v) for x in _leaves(item, f"{where}[{i}]")]
    raise TypeError(f"{where}: expected tensors in tuples, lists or dicts, got {type(v).__name__}")


def _assert_tensors_close(got, expected, *, dtype=None, finite: bool = False, **tolerance) -> None:
    """Assert that ``got`` and ``expected`` (tensors nested in tuples, lists, dicts) hold the same tensors.

    Same structure (positions and dict keys), shapes and devices; values within ``tolerance``
    (``rtol``/``atol`` of :func:`torch.testing.assert_close`). With ``dtype``, every tensor of ``got`` must
    have that dtype and is compared in float64 with ``expected`` (a float64 oracle for a float32 run);
    without, dtypes must match. ``finite=True`` also requires every value of ``got`` to be finite.
    """
    g, e = _leaves(got), _leaves(expected)
    assert [w for w, _ in g] == [w for w, _ in e], f"structure differs: {[w for w, _ in g]} vs {[w for w, _ in e]}"
    for (where, a), (_, b) in zip(g, e):
        assert a.shape == b.shape and a.device == b.device, f"{where}: {a.shape}/{a.device} vs {b.shape}/{b.device}"
        if finite:
            assert torch.isfinite(a).all(), f"{where}: non-finite values"
        if dtype is None:
            assert a.dtype == b.dtype, f"{where}: dtype {a.dtype}, expected {b.dtype}"
            torch.testing.assert_close(a, b, **tolerance, msg=lambda m, w=where: f"{w}: {m}")
        else:
            assert a.dtype == dtype, f"{where}: dtype {a.dtype}, expected {dtype}"
            torch.testing.assert_close(a.double(), b.double(), **tolerance, msg=lambda m, w=where: f"{w}: {m}")


@pytest.fixture(scope="session")
def assert_tensors_close():
    """:func:`_assert_tensors_close`: nested tensor outputs (a reference's against an oracle's) compared
    leaf by leaf, with the path of the first leaf that differs."""
    return _assert_tensors_close
