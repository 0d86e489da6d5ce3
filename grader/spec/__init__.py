"""Assignment specifications: what is graded, how, and for how many points.

An assignment is described by a *spec module* that lives beside the reference
implementations, in ``reference/specs/<assignment id>.py``, and defines a
module-level ``ASSIGNMENT`` (an :class:`Assignment`).  The reference
implementation itself is ``reference/<assignment id>.py``; the student stub is
``assignments/<assignment id>.py``.  Adding an assignment means adding those
three files: nothing in ``grader/`` changes.

A spec module is trusted instructor code: it is imported by the grader, never
by the student's process.  It must not import the reference module (mistake
variants are written out in the spec so that the spec can be read on its own).

Example::

    from grader.spec import Assignment, Function, Case, Mistake, call, randn

    def _naive_softmax(x, dim=-1):
        e = x.exp()
        return e / e.sum(dim, keepdim=True)

    ASSIGNMENT = Assignment(
        id="softmax_demo",
        title="A softmax by hand",
        banned=("torch.softmax", "torch.Tensor.softmax", "torch.nn.functional"),
        functions=(
            Function(
                name="softmax",
                cases=(
                    Case("small", lambda g, dt: call(randn(g, (4, 5), dt))),
                    Case("large_1e4", lambda g, dt: call(randn(g, (3, 7), dt, scale=1e4))),
                ),
                mistakes=(Mistake("softmax_no_max_shift",
                                  "exp() of large logits overflows: subtract the row max first.",
                                  _naive_softmax),),
            ),
        ),
    )
"""

from __future__ import annotations

from grader.errors import SpecError
from grader.judge.objectives import Objective, Quadratic, Rosenbrock
from grader.judge.properties import (
    BernoulliRate,
    Bounds,
    Independent,
    KolmogorovSmirnov,
    MaskedScale,
    Moments,
    Property,
)
from grader.spec.checks import Axis, GradCheck, Prefixes, Trajectory
from grader.spec.inputs import as_dtype, rand, randint, randn, tensor, with_zeros
from grader.spec.records import (
    AUTODIFF,
    DEFAULT_TOLERANCES,
    FLOAT_DTYPES,
    Assignment,
    Call,
    Case,
    Function,
    Limits,
    Mistake,
    Tolerance,
    call,
    case_seed,
)

_dtype = as_dtype  # older specs' name

__all__ = [
    "AUTODIFF",
    "Objective",
    "Tolerance",
    "GradCheck",
    "Trajectory",
    "Axis",
    "Prefixes",
    "Property",
    "MaskedScale",
    "BernoulliRate",
    "Independent",
    "Bounds",
    "Moments",
    "KolmogorovSmirnov",
    "Quadratic",
    "Rosenbrock",
    "as_dtype",
    "tensor",
    "with_zeros",
    "DEFAULT_TOLERANCES",
    "Call",
    "call",
    "Case",
    "Mistake",
    "Function",
    "Limits",
    "Assignment",
    "SpecError",
    "randn",
    "rand",
    "randint",
    "case_seed",
    "FLOAT_DTYPES",
]

