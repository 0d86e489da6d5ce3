"""Judging features beyond value comparison: gradient checks, properties, trajectories, localization."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from grader.api import check
from grader.catalog.project import load_catalog
from grader.judge import gradcheck as gck
from grader.judge import trajectory as tj
from grader.judge.objectives import Quadratic, Rosenbrock, from_data
from grader.judge.properties import BernoulliRate, Bounds, Independent, KolmogorovSmirnov, MaskedScale, Moments
from grader.spec import GradCheck, Trajectory, call

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "reference")
BUGGY = ROOT / "tests" / "submissions" / "buggy"


# --------------------------------------------------------------------------- gradient checks (unit)


def _square_check(scale: float):
    gc = GradCheck(inputs=lambda c: call(c.args[1]), wrt={0: ()}, trusted=lambda x: (x ** 2).sum())
    c = call(torch.tensor(1.0, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64))
    p = gck.probes(gc, c, seed=1)
    return gck.judge(p, scale * c.args[1], gck.run_trusted(gc.trusted, p))


def test_gradcheck_accepts_the_true_gradient_and_names_a_wrong_one():
    assert _square_check(2.0).consistent and _square_check(2.0).worst < 1e-7
    bad = _square_check(3.0)
    assert not bad.consistent and "argument 0" in bad.message and bad.worst > 0.1


def test_gradcheck_directions_are_not_the_inputs():
    # a scale-invariant forward (a norm) has a zero derivative along its own input: directions must differ from it
    gc = GradCheck(inputs=lambda c: c, wrt={0: ()}, trusted=lambda x: x.sum())
    c = call(torch.randn(5, dtype=torch.float64))
    p = gck.probes(gc, c, seed=123)
    d = p.items[0].direction
    x = c.args[0].numpy()
    assert abs(float(np.dot(d, x / np.linalg.norm(x)))) < 0.999


# --------------------------------------------------------------------------- properties (unit)


def test_masked_scale_and_rate_measure_what_dropout_did():
    torch.manual_seed(0)
    x = torch.randn(100_000, dtype=torch.float64)
    mask = torch.rand(x.shape) < 0.5
    good = (x * mask / 0.5, mask)
    not_inverted = (x * mask, mask)
    ms = MaskedScale(scale=2.0)
    assert ms.evaluate([good], (x,)).ok
    o = ms.evaluate([not_inverted], (x,))
    assert not o.ok and o.stats["scale"] == pytest.approx(1.0) and "x × 1" in o.message
    rate = BernoulliRate(p=0.5, label="kept")
    assert rate.evaluate([good]).ok
    skewed = (x, torch.rand(x.shape) < 0.6)
    o = rate.evaluate([skewed])
    assert not o.ok and "kept 59.8% of 100,000" in o.message and "expected 50% ±" in o.message


def test_independence_catches_a_reseeded_generator():
    torch.manual_seed(1)
    a = torch.randn(10_000)
    assert Independent().evaluate([a, torch.randn(10_000)]).ok
    o = Independent().evaluate([a, a.clone()])
    assert not o.ok and "same values" in o.message


def test_distribution_properties_measure_std_against_its_bound():
    torch.manual_seed(2)
    draw = torch.randn(100_000, dtype=torch.float64) * 0.0625
    assert Moments(mean=0.0, std=0.0625).evaluate([draw]).ok
    assert KolmogorovSmirnov("normal", 0.0, 0.0625).evaluate([draw]).ok
    o = Moments(mean=0.0, std=0.0625).evaluate([draw * 1.41])
    assert not o.ok and o.message.startswith("std 0.087") and "expected 0.0625 ±" in o.message
    assert not Bounds(-0.1, 0.1).evaluate([torch.rand(1000) * 0.3]).ok


# --------------------------------------------------------------------------- trajectories (unit)


def _sgd(param, grad, lr):
    return param - lr * grad


def test_trajectories_part_where_the_update_rule_differs():
    q = Quadratic(A=((3.0, 0.0), (0.0, 1.0)), b=(1.0, 1.0))
    assert from_data(q.to_data()) == q and from_data(Rosenbrock().to_data()) == Rosenbrock()
    traj = Trajectory(objective=q, steps=20, param_out=None)
    c = call(torch.zeros(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64), 0.1)
    ref = tj.run_inprocess(_sgd, traj, c, ["param", "grad", "lr"])
    assert len(ref.params) == 20 and ref.losses[-1] < ref.start_loss
    same = tj.run_inprocess(lambda param, grad, lr: param - lr * grad, traj, c, ["param", "grad", "lr"])
    assert tj.part(ref, same, rtol=1e-12, atol=0).step is None
    late = tj.run_inprocess(lambda param, grad, lr: param - lr * grad * (1 + 1e-3 * (param.abs().sum() > 0.3)),
                            traj, c, ["param", "grad", "lr"])
    parting = tj.part(ref, late, rtol=1e-9, atol=0)
    assert parting.step is not None and parting.step > 1 and f"step {parting.step} of 20" in parting.message


class _Lazy(torch.Tensor):
    """A wrapper subclass whose __torch_dispatch__ would compute the answer when the result is read."""

    ran: list = []

    @staticmethod
    def __new__(cls, x):
        return torch.Tensor._make_wrapper_subclass(cls, x.shape, dtype=x.dtype)

    def __init__(self, x):
        self.x = x

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        cls.ran.append(str(func))
        return args[0].x.clone()


class _LyingTuple(tuple):
    def __getitem__(self, i):
        raise AssertionError("the grader ran the tuple's own __getitem__")

    def __len__(self):
        raise AssertionError("the grader ran the tuple's own __len__")


def test_a_trajectory_reads_the_update_rules_output_without_running_its_code():
    """The child reads each step's output after the guard has exited: a lazy tensor subclass or a
    tuple subclass must not get to run code then (it could call a banned routine unseen)."""
    q = Quadratic(A=((3.0, 0.0), (0.0, 1.0)), b=(1.0, 1.0))
    c = call(torch.zeros(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64), 0.1)
    _Lazy.ran.clear()
    lazy = tj.run_inprocess(lambda param, grad, lr: _Lazy(param - lr * grad), Trajectory(objective=q, steps=3,
                            param_out=None), c, ["param", "grad", "lr"])
    assert _Lazy.ran == [] and lazy.stopped_at == 1 and "__torch_dispatch__" in lazy.error, lazy.error
    pair = tj.run_inprocess(lambda param, grad, lr: _LyingTuple((param - lr * grad, grad)),
                            Trajectory(objective=q, steps=3, param_out=0), c, ["param", "grad", "lr"])
    assert pair.error == "" and len(pair.params) == 3


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def graded(worker):
    cache = {}

    def grade(aid: str, name: str):
        if (aid, name) not in cache:
            cache[aid, name] = check(BUGGY / aid / f"{name}.py", assignments=(aid,), device="cpu", worker=worker,
                                     catalog=CATALOG)
        return cache[aid, name]

    return grade


def test_a_backward_wrong_for_its_own_forward_says_so(graded):
    r = graded("layers", "conv_dw_batch_mean")
    notes = [n for c in r.cases() if c.function == "conv2d_backward" for n in c.notes]
    assert any("your backward is wrong for your `conv2d_forward`" in n and "`W`" in n for n in notes), notes


def test_bptt_without_the_recurrent_term_names_the_step_where_it_first_differs(graded):
    r = graded("rnn", "bptt_no_recurrent_grad")
    msgs = [c.message for c in r.cases() if c.function == "rnn_backward" and c.status == "failed"]
    assert any("first differs at step" in m and "counting back from the last step" in m for m in msgs), msgs[:1]


def test_bleu_without_brevity_penalty_names_the_first_sentence_that_differs(graded):
    r = graded("nlp", "bleu_no_brevity_penalty")
    cases = [c for c in r.cases() if c.function == "corpus_bleu" and c.status == "failed" and not c.hidden]
    assert any(c.diagnosis and c.diagnosis.id == "bleu_no_brevity_penalty" for c in cases)
    assert any("once sentence" in c.message or "on sentence 1 alone" in c.message for c in cases)


def test_a_trajectory_case_carries_both_loss_curves(graded):
    r = graded("optimizers", "adam_no_bias_correction")
    traj = [c for c in r.cases() if c.series and c.status == "failed"]
    assert traj, "no failing trajectory case with a plot"
    s = traj[0].series
    assert len(s["reference"]) == len(s["steps"]) and s["parted_at"] == 1 and "Adam" not in s["title"]
    assert traj[0].diagnosis and traj[0].diagnosis.id == "adam_no_bias_correction"
