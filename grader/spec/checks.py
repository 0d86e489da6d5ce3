"""How a case is judged beyond equality: gradient checks, trajectories, localization (re-exported by :mod:`grader.spec`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.errors import SpecError
from grader.judge.objectives import Objective
from grader.spec.records import Call

__all__ = ["GradCheck", "Axis", "Prefixes", "Trajectory"]


@dataclass(frozen=True)
class GradCheck:
    """Gradient consistency: a backward function against central differences of a forward.

    For a case of the backward function, the grader builds the forward's
    inputs with ``inputs(call)``, draws ``directions`` random unit directions
    d for every argument in ``wrt`` and compares, in float64,

        <gradient of that argument from the backward, d>
        with  <upstream, F(x + h d) - F(x - h d)> / (2h)

    where F is the forward (the *student's own* forward ``forward``, run in
    the sandbox; or ``trusted``, the spec's own, run in the grader) and
    ``upstream`` the gradient flowing into F's output (1 for a scalar
    loss).  The relative error is CS231n's |a - b| / max(|a| + |b|, 1e-8).
    It never changes a score: it tells the student *where* the error is
    ("your backward is wrong for your own forward", "your backward matches
    your forward, but your forward is wrong", "both agree with each other but
    not the reference").  A forward the student has not written skips the
    check.

    Attributes:
        inputs: ``inputs(call) -> Call``, the forward's call from the backward's.
        wrt: forward argument (position or keyword name) -> path of its
            gradient in the backward's output (``()`` the output itself,
            ``(1,)`` the second element, ``(1, "W1")`` a dict entry).
        forward: name of the student's forward function in this assignment.
        trusted: the forward as a callable, when the assignment has no
            forward of the student's (run in the grader; e.g. ``x @ W + b``).
        upstream: ``upstream(call) -> Tensor``, the gradient flowing into the
            forward's output (``grad_out`` of the backward call); None when
            the forward's output at ``output`` is a scalar loss.
        output: path of the forward output the upstream gradient applies to.
        directions: random directions per argument.
        step: the finite-difference step h (float64).
        rtol: the largest relative error that counts as consistent.
    """

    inputs: Callable[[Call], Call]
    wrt: Mapping[int | str, tuple]
    forward: str | None = None
    trusted: Callable[..., Any] | None = None
    upstream: Callable[[Call], Any] | None = None
    output: tuple = ()
    directions: int = 2
    step: float = 1e-6
    rtol: float = 1e-5

    def __post_init__(self) -> None:
        if (self.forward is None) == (self.trusted is None):
            raise SpecError("GradCheck needs exactly one of forward= (a student function) or trusted= (a callable)")
        if not self.wrt:
            raise SpecError("GradCheck.wrt names no argument")


@dataclass(frozen=True)
class Axis:
    """Name an axis of an output, so a failing case says where along it the result first differs.

    "output['x'] agrees at step 4 and first differs at step 3, counting back
    from the last step" tells a student more than a worst-element index.

    Attributes:
        name: what one index along the axis is ("step", "position", "head").
        path: which output (``()`` the output itself, ``("x",)`` a dict entry,
            ``(0,)`` the first element of a tuple).
        axis: the axis.
        backward: report from the last index down (backpropagation through time).
    """

    name: str = "step"
    path: tuple = ()
    axis: int = 0
    backward: bool = False


@dataclass(frozen=True)
class Prefixes:
    """Find the first item of a list input (a sentence of a corpus) from which the result goes wrong.

    For a failing case, the grader calls the student's function again on the
    first k items of the ``args`` (for k = 1, 2, ...) and the reference on the
    same, and reports the first k where they part: "your result first
    differs once sentence 2 is included".

    Attributes:
        args: positions of the list arguments cut together (candidates and their references).
        name: what one item is ("sentence", "document").
        max_items: at most this many prefixes are tried.
    """

    args: tuple = (0,)
    name: str = "sentence"
    max_items: int = 12


@dataclass(frozen=True)
class Trajectory:
    """Run an update rule for many steps, feeding its outputs back as the next state.

    The case's ``make`` gives the first call (parameter, state, step count,
    hyper-parameters).  At every step the grader computes the gradient of
    ``objective`` at the current parameter itself, puts it in the ``grad``
    argument, calls the student's function, and takes the new parameter and
    state from its output for the next call.  The reference is run the same
    way; the case passes when every step agrees within the tolerance.  The
    report names the first step where the trajectories part and plots both
    loss curves.

    Attributes:
        objective: :class:`~grader.judge.objectives.Quadratic`,
            :class:`~grader.judge.objectives.Rosenbrock`, ...
        steps: number of updates.
        param: name of the parameter argument (contract name).
        grad: name of the gradient argument, filled in by the grader.
        carry: state argument name -> index of its next value in the output tuple.
        param_out: index of the new parameter in the output tuple; None when
            the function returns the parameter alone.
        step: name of an int argument incremented after every call (Adam's
            ``t``), or None.
    """

    objective: Objective
    steps: int = 200
    param: str = "param"
    grad: str = "grad"
    carry: Mapping[str, int] = field(default_factory=dict)
    param_out: int | None = 0
    step: str | None = None

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise SpecError("Trajectory.steps must be >= 1")
        if not isinstance(self.objective, Objective):
            raise SpecError("Trajectory.objective must be a grader.spec objective (Quadratic, Rosenbrock, ...)")


