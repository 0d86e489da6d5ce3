"""Objectives for trajectory cases: the loss surfaces an optimizer is run on.

The grader computes every gradient itself (float64 numpy, in its own
process) and feeds it to the student's update rule step after step
(:class:`grader.spec.Trajectory`).  Objectives are frozen dataclasses of
numbers, shipped as data in a student kit (:meth:`to_data` /
:func:`from_data`).

* :class:`Quadratic`: f(x) = ½ xᵀAx − bᵀx, ∇f = Ax − b (A symmetric positive
  definite; ill-conditioned when its eigenvalues spread).
* :class:`Rosenbrock`: f(x) = Σᵢ [b (x₍ᵢ₊₁₎ − xᵢ²)² + (a − xᵢ)²] over
  consecutive pairs of the flattened parameter (Rosenbrock 1960; the
  "extended" form of Moré, Garbow & Hillstrom 1981 uses disjoint pairs, this
  one the chained form of e.g. scipy.optimize.rosen).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

__all__ = ["Objective", "Quadratic", "Rosenbrock", "from_data"]

_REGISTRY: dict[str, type] = {}


@dataclass(frozen=True)
class Objective:
    """Base class: ``loss(x) -> float`` and ``grad(x) -> array like x`` on float64 arrays."""

    title: ClassVar[str] = "objective"

    def __init_subclass__(cls, **kw) -> None:
        super().__init_subclass__(**kw)
        _REGISTRY[cls.__name__] = cls

    def loss(self, x: np.ndarray) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def grad(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_data(self) -> dict:
        d = {"kind": type(self).__name__}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            d[f.name] = [list(r) for r in v] if isinstance(v, tuple) and v and isinstance(v[0], tuple) else (
                list(v) if isinstance(v, tuple) else v)
        return d


def from_data(d: dict) -> Objective:
    """The objective :meth:`Objective.to_data` described.

    Raises:
        ValueError: unknown kind.
    """
    cls = _REGISTRY.get(str(d.get("kind")))
    if cls is None:
        raise ValueError(f"unknown objective {d.get('kind')!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    kw = {}
    for k, v in d.items():
        if k in names:
            kw[k] = tuple(tuple(r) for r in v) if isinstance(v, list) and v and isinstance(v[0], list) else (
                tuple(v) if isinstance(v, list) else v)
    return cls(**kw)


@dataclass(frozen=True)
class Quadratic(Objective):
    """f(x) = ½ xᵀAx − bᵀx on the flattened parameter.

    Attributes:
        A: (n, n) symmetric matrix, as nested tuples.
        b: (n,) vector.
    """

    A: tuple
    b: tuple

    title: ClassVar[str] = "quadratic ½xᵀAx − bᵀx"

    def _ab(self):
        return np.asarray(self.A, dtype=np.float64), np.asarray(self.b, dtype=np.float64)

    def loss(self, x: np.ndarray) -> float:
        A, b = self._ab()
        v = np.asarray(x, dtype=np.float64).reshape(-1)  # (n,)
        return float(0.5 * v @ A @ v - b @ v)

    def grad(self, x: np.ndarray) -> np.ndarray:
        A, b = self._ab()
        x = np.asarray(x, dtype=np.float64)
        return (A @ x.reshape(-1) - b).reshape(x.shape)  # like x


@dataclass(frozen=True)
class Rosenbrock(Objective):
    """The chained Rosenbrock function on the flattened parameter (needs at least 2 entries)."""

    a: float = 1.0
    b: float = 100.0

    title: ClassVar[str] = "Rosenbrock"

    def loss(self, x: np.ndarray) -> float:
        v = np.asarray(x, dtype=np.float64).reshape(-1)  # (n,)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging optimizer: inf, not a warning
            return float(np.sum(self.b * (v[1:] - v[:-1] ** 2) ** 2 + (self.a - v[:-1]) ** 2))

    def grad(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        v = x.reshape(-1)  # (n,)
        g = np.zeros_like(v)
        with np.errstate(over="ignore", invalid="ignore"):
            d = v[1:] - v[:-1] ** 2  # (n-1,)
            g[:-1] += -4 * self.b * v[:-1] * d - 2 * (self.a - v[:-1])
            g[1:] += 2 * self.b * d
        return g.reshape(x.shape)
