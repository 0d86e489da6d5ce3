"""Properties of random outputs: how functions that draw random numbers are graded.

A random function (dropout, weight initialisers) cannot be compared with one
exact draw of the reference.  Its cases list *properties* instead: exact
relations (the output agrees with the returned mask), and statistical tests
with a stated false-failure rate ``alpha`` (the probability that a correct
implementation fails the test on one run; a case's rate is the sum of its
properties' rates).  Each property measures a statistic and reports it
against its bound, e.g. ``kept 61.8% of 100,000 entries; expected 50% ± 0.5%``.

Properties are plain frozen dataclasses of numbers (:meth:`Property.to_data`
and :func:`from_data` turn them into JSON and back), so a student kit ships
them as data; their logic lives here, in the grader.  They run in the
grader's process on decoded outputs (:class:`grader.sandbox.wire.Array`),
numpy arrays or torch tensors.

``at`` is a path into one output: ``()`` the output itself, ``(1,)`` the
second element of a returned tuple, ``("W",)`` a dict entry.

The statistics (tests, their p-values and bounds) are in :mod:`grader.judge.statistics`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from grader.judge.statistics import binomial_pvalue, ks_test, z_critical as _z

__all__ = ["Outcome", "Property", "MaskedScale", "BernoulliRate", "Independent", "Bounds", "Moments",
           "KolmogorovSmirnov", "from_data", "value_at", "as_numpy"]

Path = tuple


# --------------------------------------------------------------------------- values


def as_numpy(v: Any) -> np.ndarray:
    """A decoded Array, numpy array, torch tensor or Python number as a numpy array (no copy when possible).

    Raises:
        TypeError: ``v`` is not array-like.
    """
    data = getattr(v, "data", None)
    if isinstance(data, np.ndarray) and hasattr(v, "dtype") and hasattr(v, "kind"):  # wire.Array
        return data
    if isinstance(v, np.ndarray):
        return v
    if type(v).__module__.startswith("torch"):
        return v.detach().cpu().numpy()
    if isinstance(v, (bool, int, float, np.generic)):
        return np.asarray(v)
    raise TypeError(f"expected an array, got {type(v).__name__}")


def value_at(value: Any, path: Path) -> Any:
    """``value[path[0]][path[1]]...``.

    Raises:
        LookupError: the path does not exist in ``value`` (wrong structure).
    """
    for p in path:
        try:
            value = value[p]
        except (KeyError, IndexError, TypeError):
            raise LookupError(f"output has no element {p!r}") from None
    return value


def _pct(x: float) -> str:
    return f"{100 * x:.3g}%"


def _g(x: float) -> str:
    return f"{x:.4g}"


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Outcome:
    """The result of checking one property on one case instance.

    Attributes:
        property: the property's id (``"kept_fraction"``).
        title: short human name.
        ok: the property holds.
        message: the measured statistic against its bound, in one sentence.
        stats: the measured statistics (for diagnosis: a known mistake is named
            when its own outcome agrees with the student's).
    """

    property: str
    title: str
    ok: bool
    message: str
    stats: Mapping[str, float] = field(default_factory=dict)

    def to_data(self) -> dict:
        return {"property": self.property, "title": self.title, "ok": self.ok, "message": self.message,
                "stats": {k: float(v) for k, v in self.stats.items()}}

    @classmethod
    def from_data(cls, d: Mapping) -> "Outcome":
        return cls(property=str(d["property"]), title=str(d.get("title", "")), ok=bool(d["ok"]),
                   message=str(d.get("message", "")), stats={str(k): float(v) for k, v in d.get("stats", {}).items()})


_REGISTRY: dict[str, type] = {}


@dataclass(frozen=True)
class Property:
    """Base class of properties (frozen dataclasses of numbers, paths and strings).

    Subclasses define ``evaluate`` and ``agrees``; ``alpha`` is the false-failure
    rate (0 for exact relations).
    """

    kind: ClassVar[str] = "property"
    title: ClassVar[str] = "property"
    repeats_needed: ClassVar[int] = 1

    def __init_subclass__(cls, **kw) -> None:
        super().__init_subclass__(**kw)
        _REGISTRY[cls.__name__] = cls

    @property
    def id(self) -> str:
        return self.kind

    @property
    def false_failure_rate(self) -> float:
        return float(getattr(self, "alpha", 0.0))

    def evaluate(self, outputs: Sequence[Any], args: tuple = (), kwargs: Mapping | None = None) -> Outcome:
        """Check the property on ``outputs`` (one output per call of the case, in order).

        ``args``/``kwargs`` are the case's inputs (needed by relations such as
        :class:`MaskedScale`).  Never raises for a malformed output: that is
        an outcome with ``ok=False``.
        """
        try:
            return self._evaluate(list(outputs), tuple(args), dict(kwargs or {}))
        except (LookupError, TypeError, ValueError) as e:
            return self._fail(f"cannot check {self.title}: {e}", {})

    def _evaluate(self, outputs: list, args: tuple, kwargs: dict) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError

    def agrees(self, a: Outcome, b: Outcome) -> bool:
        """Whether two outcomes of this property describe the same behaviour (used to name mistakes)."""
        return a.ok == b.ok

    def _ok(self, message: str, stats: Mapping[str, float]) -> Outcome:
        return Outcome(self.id, self.title, True, message, dict(stats))

    def _fail(self, message: str, stats: Mapping[str, float]) -> Outcome:
        return Outcome(self.id, self.title, False, message, dict(stats))

    def to_data(self) -> dict:
        """JSON-able form: ``{"kind": class name, field: value, ...}`` (tuples become lists)."""
        d = {"kind": type(self).__name__}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            d[f.name] = list(v) if isinstance(v, tuple) else v
        return d


def from_data(d: Mapping) -> Property:
    """The property that :meth:`Property.to_data` described.

    Raises:
        ValueError: unknown kind or fields.
    """
    cls = _REGISTRY.get(str(d.get("kind")))
    if cls is None:
        raise ValueError(f"unknown property kind {d.get('kind')!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in names}
    return cls(**kw)


def _arg(args: tuple, kwargs: dict, source: int | str):
    if isinstance(source, int):
        if source >= len(args):
            raise LookupError(f"the case has no argument {source}")
        return args[source]
    if source not in kwargs:
        raise LookupError(f"the case has no argument {source!r}")
    return kwargs[source]


def _float_eps(a: np.ndarray) -> float:
    return 1e-6 if a.dtype == np.float32 or a.dtype == np.float16 else 1e-12


# --------------------------------------------------------------------------- exact relations


@dataclass(frozen=True)
class MaskedScale(Property):
    """``out == where(mask, x * scale, 0)``: inverted dropout's output agrees with its mask.

    Attributes:
        scale: the factor kept entries are multiplied by (``1 / (1 - p)``).
        out: path of the output tensor.
        mask: path of the boolean mask (True = kept).
        source: the input ``x`` (positional index or keyword name).
    """

    scale: float
    out: Path = (0,)
    mask: Path = (1,)
    source: int | str = 0

    kind: ClassVar[str] = "masked_scale"
    title: ClassVar[str] = "output = x · mask · scale"

    def _evaluate(self, outputs, args, kwargs) -> Outcome:
        x = as_numpy(_arg(args, kwargs, self.source)).astype(np.float64)
        worst: Outcome | None = None
        for o in outputs:
            out = as_numpy(value_at(o, self.out))
            mask = as_numpy(value_at(o, self.mask))
            if out.shape != x.shape or mask.shape != x.shape:
                return self._fail(f"output {out.shape} and mask {mask.shape} must both have the input's shape "
                                  f"{x.shape}", {})
            eps = _float_eps(out)
            out64 = out.astype(np.float64)
            keep = mask.astype(bool)
            tol = eps * 10 * (1 + np.abs(x) * abs(self.scale))
            dropped_nonzero = int(np.count_nonzero(np.abs(out64[~keep]) > tol[~keep]))
            sel = keep & (np.abs(x) > 1e-6)
            scale = float(np.median(out64[sel] / x[sel])) if sel.any() else float(self.scale)
            bad_kept = np.abs(out64 - x * self.scale) > tol
            n_bad = int(np.count_nonzero(bad_kept & keep))
            stats = {"scale": scale, "dropped_nonzero": float(dropped_nonzero)}
            if dropped_nonzero:
                o_ = self._fail(f"{dropped_nonzero} entries where the mask is False are not 0: dropped units must "
                                "output exactly 0", stats)
            elif n_bad:
                o_ = self._fail(f"kept entries are x × {_g(scale)}; expected x × {_g(self.scale)} "
                                f"(= 1/(1 − p)); {n_bad} of {int(keep.sum())} kept entries differ", stats)
            else:
                o_ = self._ok(f"output = x · mask × {_g(self.scale)} on every entry", stats)
            if not o_.ok:
                return o_
            worst = worst or o_
        return worst or self._ok("no output to check", {})

    def agrees(self, a: Outcome, b: Outcome) -> bool:
        if a.ok or b.ok:
            return a.ok == b.ok
        sa, sb = a.stats.get("scale", 0.0), b.stats.get("scale", 0.0)
        return (bool(a.stats.get("dropped_nonzero")) == bool(b.stats.get("dropped_nonzero"))
                and abs(sa - sb) <= 1e-3 * max(abs(sb), 1e-12))


# --------------------------------------------------------------------------- statistical tests


@dataclass(frozen=True)
class BernoulliRate(Property):
    """The fraction of True entries of a boolean tensor is ``p`` (exact two-sided binomial test).

    Attributes:
        p: the probability that an entry is True (dropout's keep probability 1 − p).
        at: path of the boolean tensor.
        alpha: false-failure rate.
        label: the word used in messages ("kept").
    """

    p: float
    at: Path = (1,)
    alpha: float = 1e-7
    label: str = "True"

    kind: ClassVar[str] = "bernoulli_rate"
    title: ClassVar[str] = "fraction of True entries"

    def _evaluate(self, outputs, args, kwargs) -> Outcome:
        m = as_numpy(value_at(outputs[0], self.at)).astype(bool).reshape(-1)
        n = int(m.size)
        if n == 0:
            return self._fail("the tensor is empty", {})
        k = int(m.sum())
        rate = k / n
        half = _z(self.alpha) * math.sqrt(self.p * (1 - self.p) / n)
        pvalue = binomial_pvalue(k, n, self.p)
        stats = {"rate": rate, "n": float(n), "pvalue": pvalue}
        msg = (f"{self.label} {_pct(rate)} of {n:,} entries; expected {_pct(self.p)} ± {_pct(half)} "
               f"(binomial test, false-failure rate {self.alpha:g})")
        return self._ok(msg, stats) if pvalue >= self.alpha else self._fail(msg, stats)

    def agrees(self, a: Outcome, b: Outcome) -> bool:
        if a.ok or b.ok:
            return a.ok == b.ok
        n = max(a.stats.get("n", 1.0), 1.0)
        r = b.stats.get("rate", 0.0)
        half = _z(self.alpha) * math.sqrt(max(r * (1 - r), 1.0 / n) / n)
        return abs(a.stats.get("rate", 0.0) - r) <= 2 * half


@dataclass(frozen=True)
class Independent(Property):
    """Two calls draw different, uncorrelated values (needs a case with ``repeats >= 2``).

    The Pearson correlation r of the two draws (flattened) must satisfy
    |r| <= z(alpha)/sqrt(n); identical draws fail outright (a generator
    reseeded on every call).
    """

    at: Path = ()
    alpha: float = 1e-7

    kind: ClassVar[str] = "independent"
    title: ClassVar[str] = "independent draws"
    repeats_needed: ClassVar[int] = 2

    def _evaluate(self, outputs, args, kwargs) -> Outcome:
        if len(outputs) < 2:
            return self._fail("needs two calls (the spec must set repeats >= 2)", {})
        a = as_numpy(value_at(outputs[0], self.at)).astype(np.float64).reshape(-1)
        b = as_numpy(value_at(outputs[1], self.at)).astype(np.float64).reshape(-1)
        if a.shape != b.shape or a.size < 3:
            return self._fail("the two calls returned tensors of different or tiny shapes", {})
        if np.array_equal(a, b):
            return self._fail("two calls returned exactly the same values: draw fresh random numbers on every call "
                              "(do not reseed the generator inside the function)", {"identical": 1.0, "r": 1.0})
        sa, sb = a.std(), b.std()
        if sa == 0 or sb == 0:
            return self._ok("the draws differ (one is constant)", {"identical": 0.0, "r": 0.0})
        r = float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))
        bound = _z(self.alpha) / math.sqrt(a.size)
        msg = f"correlation of two calls r = {r:.3g}; expected |r| ≤ {bound:.3g} (false-failure rate {self.alpha:g})"
        stats = {"identical": 0.0, "r": r}
        return self._ok(msg, stats) if abs(r) <= bound else self._fail(msg, stats)

    def agrees(self, a: Outcome, b: Outcome) -> bool:
        if a.ok or b.ok:
            return a.ok == b.ok
        return a.stats.get("identical") == b.stats.get("identical")


@dataclass(frozen=True)
class Bounds(Property):
    """Every value lies in ``[low, high]`` (exact; a float32 rounding of the bound is allowed)."""

    low: float
    high: float
    at: Path = ()

    kind: ClassVar[str] = "bounds"
    title: ClassVar[str] = "values within bounds"

    def _evaluate(self, outputs, args, kwargs) -> Outcome:
        worst = None
        for o in outputs:
            a = as_numpy(value_at(o, self.at))
            slack = _float_eps(a) * max(abs(self.low), abs(self.high), 1.0) * 4
            a64 = a.astype(np.float64).reshape(-1)
            if a64.size == 0:
                continue
            lo, hi = float(np.nanmin(a64)), float(np.nanmax(a64))
            outside = int(np.count_nonzero((a64 < self.low - slack) | (a64 > self.high + slack) | np.isnan(a64)))
            stats = {"min": lo, "max": hi, "outside": float(outside)}
            if outside:
                return self._fail(f"values must lie in [{_g(self.low)}, {_g(self.high)}]; {outside:,} of {a64.size:,} "
                                  f"lie outside (min {_g(lo)}, max {_g(hi)})", stats)
            worst = self._ok(f"all values in [{_g(self.low)}, {_g(self.high)}] (min {_g(lo)}, max {_g(hi)})", stats)
        return worst or self._ok("no values", {})

    def agrees(self, a: Outcome, b: Outcome) -> bool:
        if a.ok or b.ok:
            return a.ok == b.ok
        wa = max(abs(a.stats.get("min", 0)), abs(a.stats.get("max", 0)))
        wb = max(abs(b.stats.get("min", 0)), abs(b.stats.get("max", 0)))
        return abs(wa - wb) <= 0.05 * max(wb, 1e-12)


_KURTOSIS = {"normal": 3.0, "uniform": 1.8}


@dataclass(frozen=True)
class Moments(Property):
    """Sample mean and standard deviation within their confidence intervals.

    Attributes:
        mean / std: the target distribution's mean and standard deviation.
        dist: ``"normal"`` or ``"uniform"`` (sets the kurtosis in the std's interval).
        alpha: false-failure rate of the pair of tests (alpha/2 each).
    """

    mean: float
    std: float
    dist: str = "normal"
    at: Path = ()
    alpha: float = 1e-7

    kind: ClassVar[str] = "moments"
    title: ClassVar[str] = "mean and standard deviation"

    def _evaluate(self, outputs, args, kwargs) -> Outcome:
        a = as_numpy(value_at(outputs[0], self.at)).astype(np.float64).reshape(-1)
        n = a.size
        if n < 2:
            return self._fail("too few values to estimate a standard deviation", {})
        m, s = float(a.mean()), float(a.std(ddof=1))
        z = _z(self.alpha / 2)
        kurt = _KURTOSIS.get(self.dist, 3.0)
        half_m = z * self.std / math.sqrt(n)
        half_s = z * self.std * math.sqrt((kurt - 1) / (4 * n))
        stats = {"mean": m, "std": s, "n": float(n), "half_mean": half_m, "half_std": half_s}
        problems = []
        if not math.isfinite(s) or abs(s - self.std) > half_s:
            problems.append(f"std {_g(s)}, expected {_g(self.std)} ± {_g(half_s)}")
        if not math.isfinite(m) or abs(m - self.mean) > half_m:
            problems.append(f"mean {_g(m)}, expected {_g(self.mean)} ± {_g(half_m)}")
        if problems:
            return self._fail("; ".join(problems) + f" ({n:,} values, false-failure rate {self.alpha:g})", stats)
        return self._ok(f"mean {_g(m)} (expected {_g(self.mean)} ± {_g(half_m)}), std {_g(s)} "
                        f"(expected {_g(self.std)} ± {_g(half_s)})", stats)

    def agrees(self, a: Outcome, b: Outcome) -> bool:
        if a.ok or b.ok:
            return a.ok == b.ok
        hs = 2 * max(a.stats.get("half_std", 0.0), b.stats.get("half_std", 0.0)) * \
            max(1.0, b.stats.get("std", 0.0) / max(self.std, 1e-300))
        hm = 2 * max(a.stats.get("half_mean", 0.0), b.stats.get("half_mean", 0.0)) * \
            max(1.0, b.stats.get("std", 0.0) / max(self.std, 1e-300))
        return (abs(a.stats.get("std", 0.0) - b.stats.get("std", 0.0)) <= hs
                and abs(a.stats.get("mean", 0.0) - b.stats.get("mean", 0.0)) <= hm)


@dataclass(frozen=True)
class KolmogorovSmirnov(Property):
    """The values follow a target distribution (one-sample Kolmogorov–Smirnov test).

    Attributes:
        dist: ``"normal"`` (``loc`` = mean, ``scale`` = std) or ``"uniform"``
            (on ``[loc, loc + scale]``).
        alpha: false-failure rate (the test fails when its p-value is below alpha).
    """

    dist: str
    loc: float
    scale: float
    at: Path = ()
    alpha: float = 1e-7

    kind: ClassVar[str] = "ks_test"
    title: ClassVar[str] = "distribution (Kolmogorov–Smirnov)"

    def _describe(self) -> str:
        if self.dist == "uniform":
            return f"U({_g(self.loc)}, {_g(self.loc + self.scale)})"
        return f"N({_g(self.loc)}, {_g(self.scale)}²)"

    def _evaluate(self, outputs, args, kwargs) -> Outcome:
        a = as_numpy(value_at(outputs[0], self.at)).astype(np.float64).reshape(-1)
        if a.size < 2 or not np.isfinite(a).all():
            return self._fail("the values are too few or not finite", {})
        d, pvalue = ks_test(a, self.dist, self.loc, self.scale)
        stats = {"D": d, "pvalue": pvalue}
        msg = f"KS statistic D = {d:.3g} against {self._describe()} (p = {pvalue:.3g}; fails below {self.alpha:g})"
        return self._ok(msg, stats) if pvalue >= self.alpha else self._fail(msg, stats)
