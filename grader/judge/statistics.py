"""The statistics behind random-case properties, computed with torch's special functions.

Statistics (standard results; e.g. Casella & Berger, *Statistical
Inference*, 2nd ed., 10.1 and 10.3), computed with torch's special functions
(``torch.special.ndtr``/``ndtri``: already loaded, no second numerical stack):

* binomial rate: two-sided test by the normal approximation with continuity
  correction, z = (|k − np| − ½)/sqrt(np(1−p)) (de Moivre–Laplace; with the
  n ≥ 10⁴ draws cases use, np(1−p) ≥ 900 and the tail error at alpha = 1e-7
  is negligible); the bound shown is the half-width z·sqrt(p(1−p)/n);
* sample mean of n draws with standard deviation σ: N(μ, σ²/n);
* sample standard deviation s: approximately N(σ, σ²(κ − 1)/(4n)), κ the
  kurtosis (3 for a normal, 9/5 for a uniform distribution);
* correlation of two independent samples of size n: approximately N(0, 1/n);
* Kolmogorov–Smirnov one-sample test: the exact statistic D, and its p-value
  from Kolmogorov's limiting distribution with Stephens' small-n correction,
  Q(λ) = 2 Σₖ (−1)^(k−1) exp(−2k²λ²), λ = (√n + 0.12 + 0.11/√n)·D
  (Stephens 1970; Press et al., *Numerical Recipes*, 3rd ed., 14.3.3).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["z_critical", "normal_sf", "binomial_pvalue", "ks_test"]


def z_critical(alpha: float) -> float:
    """Two-sided standard-normal critical value for false-failure rate ``alpha``."""
    import torch

    return float(-torch.special.ndtri(torch.tensor(alpha / 2, dtype=torch.float64)))


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    import torch

    return float(torch.special.ndtr(torch.tensor(-z, dtype=torch.float64)))


def binomial_pvalue(k: int, n: int, p: float) -> float:
    """Two-sided p-value of k successes in n Bernoulli(p) trials (normal approximation, continuity corrected)."""
    if p in (0.0, 1.0):
        return 1.0 if k == round(p * n) else 0.0
    z = max(abs(k - n * p) - 0.5, 0.0) / math.sqrt(n * p * (1 - p))
    return min(1.0, 2 * normal_sf(z))


def ks_test(values: np.ndarray, dist: str, loc: float, scale: float) -> tuple[float, float]:
    """(D, p-value) of the one-sample Kolmogorov–Smirnov test of ``values`` against N(loc, scale²) or
    U(loc, loc + scale) (see the module docs)."""
    import torch

    x = torch.from_numpy(np.sort(np.asarray(values, dtype=np.float64)))  # (n,)
    n = x.numel()
    if dist == "normal":
        cdf = torch.special.ndtr((x - loc) / scale)
    elif dist == "uniform":
        cdf = ((x - loc) / scale).clamp(0.0, 1.0)
    else:
        raise ValueError(f"unknown distribution {dist!r}")
    i = torch.arange(1, n + 1, dtype=torch.float64)
    d = float(torch.maximum((i / n - cdf).max(), (cdf - (i - 1) / n).max()))
    lam = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d
    if lam < 0.2:
        return d, 1.0
    q = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return d, float(min(max(q, 0.0), 1.0))
