"""The records of a spec: tolerances, calls, cases, mistakes, limits, functions, assignments.

Re-exported by :mod:`grader.spec`, the authoring API.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from grader.errors import SpecError
from grader.judge.properties import Property

if TYPE_CHECKING:  # pragma: no cover
    from grader.spec.checks import Axis, GradCheck, Prefixes, Trajectory

__all__ = ["FLOAT_DTYPES", "AUTODIFF", "Tolerance", "DEFAULT_TOLERANCES", "Call", "call", "Case", "Mistake", "Limits", "Function",
           "Assignment", "case_seed"]

FLOAT_DTYPES = ("float32", "float64")

#: Every automatic differentiation, torch's and other libraries': what "no autograd" bans
#: (``banned=(..., *AUTODIFF)``). The run-time guard also records any backward pass torch runs.
AUTODIFF = ("torch.autograd", "torch.func", "torch.Tensor.backward", "jax.grad", "jax.vjp", "jax.jvp", "jax.jacrev",
            "jax.jacfwd", "jax.value_and_grad", "autograd.grad", "tensorflow.GradientTape")


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
