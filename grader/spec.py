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

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
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

FLOAT_DTYPES = ("float32", "float64")

from grader.judge.objectives import Objective, Quadratic, Rosenbrock  # noqa: E402 - data classes for specs
from grader.judge.properties import (  # noqa: E402
    BernoulliRate,
    Bounds,
    Independent,
    KolmogorovSmirnov,
    MaskedScale,
    Moments,
    Property,
)


from grader.errors import SpecError  # noqa: E402 - re-exported: specs raise it


@dataclass(frozen=True)
class Tolerance:
    """Allowed error for floating outputs: ``|got - expected| <= atol + rtol * max(|expected|, scale)``,
    scale the largest |expected| of its row (:func:`grader.judge.compare.row_scale`, as ``rel_error``).

    ``rtol`` is relative (unitless), ``atol`` is in the output's own units.
    """

    rtol: float
    atol: float

    def __post_init__(self) -> None:
        if self.rtol < 0 or self.atol < 0:
            raise SpecError(f"tolerances must be >= 0, got rtol={self.rtol}, atol={self.atol}")

    def describe(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


#: Per-dtype defaults, never stricter than :func:`torch.testing.assert_close`'s (expected
#: values are computed in float64 and cast to the case dtype; float64's atol 1e-7 lets a
#: ``1e-8`` stabilising epsilon pass where the expected value is 0).
DEFAULT_TOLERANCES: Mapping[str, Tolerance] = MappingProxyType(
    {
        "float16": Tolerance(rtol=1e-2, atol=1e-3),
        "float32": Tolerance(rtol=1e-4, atol=1e-5),
        "float64": Tolerance(rtol=1e-7, atol=1e-7),
    }
)


@dataclass(frozen=True)
class Call:
    """The arguments of one call of a graded function.

    ``args`` and ``kwargs`` may hold ``torch.Tensor`` (any dtype; CPU), Python
    ``int``/``float``/``bool``/``str``/``None``, and tuples/lists/dicts of those.
    """

    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def call(*args: Any, **kwargs: Any) -> Call:
    """Build a :class:`Call` from positional and keyword arguments."""
    return Call(tuple(args), dict(kwargs))


def as_dtype(dtype: Any):
    """``torch.float32`` for ``"float32"`` or ``torch.float32`` (any torch dtype or its name)."""
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    return getattr(torch, str(dtype))


_dtype = as_dtype


def tensor(values, dtype):
    """Exact literal values (nested lists of numbers), built in float64 then cast to ``dtype``.

    Use it for hand-picked cases (ties, exact zeros, +-1e4): the float32 and
    float64 instances then hold the same values up to one rounding.
    """
    import torch

    return torch.tensor(values, dtype=torch.float64).to(as_dtype(dtype))


def with_zeros(g, x, frac: float = 0.3):
    """``x`` with a random ``frac`` of its entries set to exactly 0 (half of them -0.0), drawn from ``g``.

    The first entry is always +0.0 and the last always -0.0 (when ``x`` has at
    least two entries), so every draw has both.
    """
    import torch

    u = rand(g, x.shape, torch.float64).reshape(-1)
    if u.numel() >= 2:
        u[0], u[-1] = 0.0, frac * 0.75
    u = u.reshape(x.shape)
    x = torch.where(u < frac / 2, torch.zeros((), dtype=x.dtype), x)
    return torch.where((u >= frac / 2) & (u < frac), torch.full((), -0.0, dtype=x.dtype), x)


def randn(g, shape, dtype, *, scale: float = 1.0, shift: float = 0.0):
    """Normal(shift, scale**2) tensor of ``shape`` and ``dtype``, drawn from generator ``g``.

    Drawn in float64 then cast, so float32 and float64 cases see the same values
    up to rounding.
    """
    import torch

    x = torch.randn(tuple(shape), generator=g, dtype=torch.float64) * scale + shift
    return x.to(_dtype(dtype))


def rand(g, shape, dtype, *, low: float = 0.0, high: float = 1.0):
    """Uniform[low, high) tensor of ``shape`` and ``dtype`` from generator ``g``."""
    import torch

    x = torch.rand(tuple(shape), generator=g, dtype=torch.float64) * (high - low) + low
    return x.to(_dtype(dtype))


def randint(g, low: int, high: int, shape):
    """int64 tensor of ``shape`` with values in ``[low, high)`` from generator ``g``."""
    import torch

    return torch.randint(low, high, tuple(shape), generator=g, dtype=torch.int64)


@dataclass(frozen=True)
class Case:
    """One graded input, run once per dtype in ``dtypes`` and per device.

    Attributes:
        id: short identifier, unique within the function (``"large_1e4"``).
        make: ``make(g: torch.Generator, dtype: torch.dtype) -> Call`` builds the
            inputs from a seeded generator.  Float inputs must use ``dtype``;
            integer inputs (targets, labels) stay int64.
        points: points for the case over all its dtypes (split evenly).
        hidden: hidden cases use seeds the students never see and are not
            shipped in the student kit.
        dtypes: dtypes the case runs in (``"float32"``, ``"float64"``).
        description: one line shown in reports ("magnitudes up to 1e4").
        tolerance: per-dtype overrides of the function's tolerances.
        properties: for a function that draws random numbers: the properties
            its outputs must have (:mod:`grader.judge.properties`), or a
            callable ``properties(call) -> tuple`` computing them from the
            case's inputs (e.g. the expected std of an initializer).  A case
            with properties is not compared value by value with the
            reference; its output must still have the reference output's
            structure, shapes and dtypes.  The case's false-failure rate is the
            sum of its properties' ``alpha``.
        repeats: how many times the function is called on the inputs, each
            call with its own seed of torch's default generator
            (:class:`~grader.judge.properties.Independent` needs 2).
        trajectory: run the function as an update rule for many steps
            (:class:`Trajectory`) and compare the whole trajectory.
        gradcheck: run the function's :class:`GradCheck` on this case (turn
            off for inputs at a kink, such as exact ties or zeros).
    """

    id: str
    make: Callable[..., Call]
    points: float = 1.0
    hidden: bool = False
    dtypes: tuple[str, ...] = FLOAT_DTYPES
    description: str = ""
    tolerance: Mapping[str, Tolerance] | None = None
    properties: Any = ()
    repeats: int = 1
    trajectory: "Trajectory | None" = None
    gradcheck: bool = True

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise SpecError(f"case {self.id!r}: repeats must be >= 1")
        if self.trajectory is not None and (self.properties or self.repeats != 1):
            raise SpecError(f"case {self.id!r}: a trajectory case cannot also have properties or repeats")

    def properties_for(self, call: Call) -> tuple:
        """The case's properties for the inputs ``call`` (evaluates a callable ``properties``)."""
        props = self.properties(call) if callable(self.properties) else self.properties
        props = tuple(props or ())
        for p in props:
            if not isinstance(p, Property):
                raise SpecError(f"case {self.id!r}: {p!r} is not a grader.spec property")
            if p.repeats_needed > self.repeats:
                raise SpecError(f"case {self.id!r}: {type(p).__name__} needs repeats >= {p.repeats_needed}")
        return props

    @property
    def random(self) -> bool:
        """The case is graded by properties (its function draws random numbers)."""
        return bool(self.properties)


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


@dataclass(frozen=True)
class Mistake:
    """A known-wrong variant of the reference, used to name a student's mistake.

    ``variant`` has the graded function's signature and returns what the
    mistaken implementation returns.  When a student's output fails the check
    but matches the variant's output on the same inputs (same structure, shape,
    and values within tolerance, NaN matching NaN), the report shows ``hint``.

    Attributes:
        id: stable identifier, e.g. ``"softmax_no_max_shift"``.
        hint: what the mistake is and how to fix it, addressed to the student.
        variant: the mistaken implementation.
        title: short human name ("softmax without max-shift"); defaults to id.
    """

    id: str
    hint: str
    variant: Callable[..., Any]
    title: str = ""


@dataclass(frozen=True)
class Limits:
    """Resource limits for running the student's code.

    Attributes:
        case_seconds: wall-clock floor per case, in seconds.  The limit is
            ``case_seconds + time_factor * reference_seconds`` so that a
            correct but naive loop passes.
        time_factor: multiple of the reference's own time on the same case.
        memory_mb: address-space budget of the student's process beyond what
            the worker had at fork time, in MiB.
        output_bytes: stdout/stderr kept per function; the excess is counted.
        open_files: maximum open file descriptors.
    """

    case_seconds: float = 5.0
    time_factor: float = 50.0
    memory_mb: int = 2048
    output_bytes: int = 1 << 20
    open_files: int = 256


@dataclass(frozen=True)
class Function:
    """A graded function of an assignment.

    Attributes:
        name: the function's name in the student's module (fixed by
            ASSIGNMENTS.md).
        cases: the graded inputs.
        mistakes: known-wrong variants for diagnosis.
        tolerance: per-dtype overrides of the assignment's tolerances.
        check_unmodified: fail a case whose inputs the function modified in place.
        limits: per-function override of the assignment's limits.
        gradcheck: for a backward function, how to check it against finite
            differences of a forward (:class:`GradCheck`).
        oracle: an independent implementation from a library
            (``torch.nn.functional``, ``torch.autograd``, ``sklearn``,
            ``nltk``...) with the function's signature.  Never used for
            grading; the test suite and ``grade lint-spec`` check the
            reference against it on every case and on extra seeds.
        banned / banned_ops: bans for this function only, on top of the
            assignment's (``torch.tril`` in ``causal_mask`` alone).
        axes: named axes of the output (:class:`Axis`), for "first differs at step 3".
        prefixes: how to find the first item of a list input from which the result
            goes wrong (:class:`Prefixes`).
    """

    name: str
    cases: tuple[Case, ...]
    mistakes: tuple[Mistake, ...] = ()
    tolerance: Mapping[str, Tolerance] | None = None
    check_unmodified: bool = True
    limits: Limits | None = None
    gradcheck: GradCheck | None = None
    oracle: Callable[..., Any] | None = None
    banned: tuple[str, ...] = ()
    banned_ops: tuple[str, ...] = ()
    axes: tuple[Axis, ...] = ()
    prefixes: Prefixes | None = None

    @property
    def max_score(self) -> float:
        return float(sum(c.points for c in self.cases))


@dataclass(frozen=True)
class Assignment:
    """An assignment: a module of functions the student writes by hand.

    Attributes:
        id: module name (a Python identifier, e.g. ``my_assignment``); the student's file is ``<id>.py``.
        title: human title.
        functions: the graded functions, in report order.
        banned: dotted names the student may not call, checked statically and
            at run time.  A prefix bans everything below it
            (``"torch.nn.functional"``); ``"torch.Tensor.softmax"`` bans the
            method; ``"sklearn"`` bans the package.
        banned_ops: ATen operator names (``"aten::_softmax"``) that no code
            path may reach while the student's function runs, however it was
            called; the run-time guard records them.
        tolerance: per-dtype tolerances (defaults: :data:`DEFAULT_TOLERANCES`).
        limits: resource limits (defaults: :class:`Limits`).
        salt: mixed into every case seed; change it to draw fresh inputs.
        position: where the assignment sorts in ``grade list`` and reports
            (ascending; ties by id).  The course's numbering is a good choice.
    """

    id: str
    title: str
    functions: tuple[Function, ...]
    banned: tuple[str, ...] = ()
    banned_ops: tuple[str, ...] = ()
    tolerance: Mapping[str, Tolerance] = field(default_factory=lambda: DEFAULT_TOLERANCES)
    limits: Limits = field(default_factory=Limits)
    salt: str = ""
    position: float = 1000.0

    def __post_init__(self) -> None:
        if not self.id.isidentifier():
            raise SpecError(f"assignment id {self.id!r} must be a Python identifier")
        names = [f.name for f in self.functions]
        if len(set(names)) != len(names):
            raise SpecError(f"assignment {self.id!r}: duplicate function names in {names}")
        for f in self.functions:
            ids = [c.id for c in f.cases]
            if len(set(ids)) != len(ids):
                raise SpecError(f"{self.id}.{f.name}: duplicate case ids in {ids}")
            for c in f.cases:
                for dt in c.dtypes:
                    if dt not in ("float16", "float32", "float64"):
                        raise SpecError(f"{self.id}.{f.name}[{c.id}]: unknown dtype {dt!r}")

    @property
    def max_score(self) -> float:
        return float(sum(f.max_score for f in self.functions))

    def function(self, name: str) -> Function:
        for f in self.functions:
            if f.name == name:
                return f
        raise KeyError(name)

    def tolerance_for(self, function: Function, case: Case, dtype: str) -> Tolerance:
        """The tolerance for ``case`` in ``dtype``: case, then function, then assignment."""
        for table in (case.tolerance, function.tolerance, self.tolerance, DEFAULT_TOLERANCES):
            if table and dtype in table:
                return table[dtype]
        raise SpecError(f"no tolerance for dtype {dtype}")

    def limits_for(self, function: Function) -> Limits:
        return function.limits or self.limits

    def banned_for(self, function: Function) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(banned names, banned ATen ops) for ``function``: the assignment's plus its own."""
        return (tuple(dict.fromkeys((*self.banned, *function.banned))),
                tuple(dict.fromkeys((*self.banned_ops, *function.banned_ops))))

    def replace(self, **changes: Any) -> "Assignment":
        return dataclasses.replace(self, **changes)


def case_seed(*, salt: str, assignment: str, function: str, case: str, dtype: str, hidden_salt: str = "") -> int:
    """Deterministic 63-bit seed for one case instance.

    Hidden cases mix in ``hidden_salt`` (an instructor secret kept out of the
    student kit), so their inputs cannot be reproduced from the visible spec.
    """
    key = f"{salt}|{hidden_salt}|{assignment}|{function}|{case}|{dtype}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "little") & ((1 << 63) - 1)
