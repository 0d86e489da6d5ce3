"""Statistical grading of the ``init`` assignment, checked on many seeds (in-process).

Every statistical case of the spec is run on the reference with 200
different seeds of torch's default generator: the reference must pass every
property every time (each case's stated false-failure rate is 9e-7, so even
one failure in 200 x cases runs would be a ~1e-3-probability event: a
broken bound, not bad luck).  Then every mistake variant is run on the same
200 seeds and must be caught (some property of some case fails) on every
one of them.

Variants are evaluated cheaply first: cases from the smallest draw to the
largest, properties in the order Moments, Bounds, Independent, KS, stopping
at the first failure (what matters is *whether* the variant is caught).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from grader.catalog.instances import make_call
from grader.catalog.project import load_catalog

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
ref = CATALOG.references["init"]
ASSIGNMENT = CATALOG.get("init")

SEEDS = range(200)
_ORDER = {"moments": 0, "bounds": 1, "independent": 2, "ks_test": 3}


def _instances():
    """(function, case, dtype, call, properties) for every statistical case instance, smallest draw first."""
    out = []
    for f in ASSIGNMENT.functions:
        for case in f.cases:
            if not case.random:
                continue
            for dt in case.dtypes:
                c = make_call(ASSIGNMENT, f, case, dt)
                props = sorted(case.properties_for(c), key=lambda p: _ORDER.get(p.kind, 9))
                out.append((f, case, dt, c, props))
    out.sort(key=lambda t: math.prod(t[3].args[0]))
    return out


INSTANCES = _instances()


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Draws of ~100k values are ~10x faster on one intra-op thread than on two contended ones;
    torch's default generator is restored afterwards (these tests reseed it thousands of times)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    with torch.random.fork_rng(devices=[]):
        yield
    torch.set_num_threads(n)


def _draws(fn, c, case, seed):
    outs = []
    for r in range(case.repeats):
        torch.manual_seed(1_000_003 * seed + r)
        outs.append(fn(*c.args, **dict(c.kwargs)))
    return outs


def test_every_init_function_has_statistical_cases():
    names = {f.name for f, *_ in INSTANCES}
    assert names == {"xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"}
    for f, case, dt, c, props in INSTANCES:
        rate = sum(p.false_failure_rate for p in props)
        assert rate <= 1e-6, f"{f.name}[{case.id}]: false-failure rate {rate:g} > 1e-6"
        assert case.repeats >= 2 and any(p.kind == "independent" for p in props)
        assert any(p.kind == "ks_test" for p in props) and any(p.kind == "moments" for p in props)
    assert max(math.prod(c.args[0]) for *_, c, _ in INSTANCES) >= 100_000


@pytest.mark.slow
def test_reference_passes_every_property_on_200_seeds():
    failures = []
    for f, case, dt, c, props in INSTANCES:
        fn = getattr(ref, f.name)
        for seed in SEEDS:
            outs = _draws(fn, c, case, seed)
            assert outs[0].dtype == (torch.float64 if dt == "float64" else torch.float32)
            assert tuple(outs[0].shape) == tuple(c.args[0])
            for p in props:
                o = p.evaluate(outs, c.args, dict(c.kwargs))
                if not o.ok:
                    failures.append(f"{f.name}[{case.id}/{dt}] seed {seed}: {o.message}")
    assert not failures, "\n".join(failures[:20])


def _caught(variant, f, seed) -> bool:
    for g, case, dt, c, props in INSTANCES:
        if g is not f:
            continue
        outs = _draws(variant, c, case, seed)
        for p in props:
            if not p.evaluate(outs, c.args, dict(c.kwargs)).ok:
                return True
    return False


@pytest.mark.slow
def test_every_mistake_variant_is_caught_on_every_seed():
    missed = {}
    for f in ASSIGNMENT.functions:
        if not any(case.random for case in f.cases):
            continue
        for m in f.mistakes:
            n = sum(not _caught(m.variant, f, seed) for seed in SEEDS)
            if n:
                missed[m.id] = n
    assert not missed, f"variants not caught (seeds missed out of {len(SEEDS)}): {missed}"
