"""Building a case's inputs: seeded draws, exact literals, zeros, dtypes (re-exported by :mod:`grader.spec`)."""

from __future__ import annotations

from typing import Any

__all__ = ["as_dtype", "tensor", "with_zeros", "randn", "rand", "randint"]


def as_dtype(dtype: Any):
    """``torch.float32`` for ``"float32"`` or ``torch.float32`` (any torch dtype or its name)."""
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    return getattr(torch, str(dtype))



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
    return x.to(as_dtype(dtype))


def rand(g, shape, dtype, *, low: float = 0.0, high: float = 1.0):
    """Uniform[low, high) tensor of ``shape`` and ``dtype`` from generator ``g``."""
    import torch

    x = torch.rand(tuple(shape), generator=g, dtype=torch.float64) * (high - low) + low
    return x.to(as_dtype(dtype))


def randint(g, low: int, high: int, shape):
    """int64 tensor of ``shape`` with values in ``[low, high)`` from generator ``g``."""
    import torch

    return torch.randint(low, high, tuple(shape), generator=g, dtype=torch.int64)


