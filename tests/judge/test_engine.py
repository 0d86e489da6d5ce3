"""The engine's scheduling: assignments start longest first, results come back in catalogue order."""

from __future__ import annotations

from grader.catalog.project import load_catalog
from grader.judge.engine import _estimated_calls


def test_trajectory_assignments_are_estimated_longest():
    cat = load_catalog()
    calls = {a.id: _estimated_calls(a) for a in cat.assignments}
    # 200-step trajectories make optimizers the longest by far: it must not start last
    assert max(calls, key=calls.get) == "optimizers"
    assert calls["optimizers"] > sum(v for k, v in calls.items() if k != "optimizers")
    assert all(v > 0 for v in calls.values())


def test_results_keep_the_catalogue_order(tmp_path):
    from grader.api import check

    ref = load_catalog().reference_dir
    r = check(ref, assignments=("metrics", "optimizers", "activations"), device="cpu")
    assert [a.id for a in r.assignments] == ["metrics", "optimizers", "activations"]
    assert r.score == r.max_score
