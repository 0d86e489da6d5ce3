"""Reference implementation of the ``init`` assignment.

Xavier/Glorot and Kaiming/He weight initialization by hand, with the fans
and gains of ``torch.nn.init`` (no ``torch.nn.init`` or ``torch.nn`` modules).
Random numbers come from torch's default generator (``torch.rand`` /
``torch.randn``), so ``torch.manual_seed`` makes a draw reproducible.

Formulas:

* fans (``torch.nn.init._calculate_fan_in_and_fan_out``): for a weight of
  shape (out, in, *k), receptive = prod(k), fan_in = in * receptive,
  fan_out = out * receptive.
* Xavier/Glorot (Glorot & Bengio, 2010, eq. 16): Var(W) = 2 / (fan_in + fan_out)
  times gain^2; uniform bound a = gain * sqrt(6 / (fan_in + fan_out)),
  normal std = gain * sqrt(2 / (fan_in + fan_out)).
* Kaiming/He (He et al., 2015, eq. 10 and 14): Var(W) = gain^2 / fan;
  normal std = gain / sqrt(fan), uniform bound b = gain * sqrt(3 / fan)
  (U(-b, b) has variance b^2 / 3).
* gains (``torch.nn.init.calculate_gain``): linear/conv/sigmoid 1, tanh 5/3,
  relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2)), selu 3/4.
"""

from __future__ import annotations

import math

import torch

__all__ = ["calculate_gain", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (``torch.nn.init.calculate_gain``).

    Args:
        nonlinearity: "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d/2d/3d",
            "sigmoid", "tanh", "relu", "leaky_relu" or "selu".
        param: the negative slope of leaky_relu (None means 0.01; 0 is a slope of 0).

    Returns:
        The gain, a Python float.

    Raises:
        ValueError: unknown nonlinearity, or a leaky_relu slope that is not a number.
    """
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel).

    Raises:
        ValueError: fewer than 2 dimensions.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _uniform(shape, bound: float, dtype: torch.dtype) -> torch.Tensor:
    """U(-bound, bound) of ``shape`` and ``dtype`` from the default generator."""
    u = torch.rand(tuple(int(s) for s in shape), dtype=dtype)  # shape, in [0, 1)
    return (2.0 * u - 1.0) * bound  # shape, in [-bound, bound)


def _normal(shape, std: float, dtype: torch.dtype) -> torch.Tensor:
    """N(0, std^2) of ``shape`` and ``dtype`` from the default generator."""
    return torch.randn(tuple(int(s) for s in shape), dtype=dtype) * std  # shape


def xavier_uniform(shape, gain: float = 1.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Xavier/Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).

    Args:
        shape: (out, in, *kernel), at least 2-D.
        gain: scale factor (see :func:`calculate_gain`).
        dtype: floating dtype of the result.

    Returns:
        A new tensor of ``shape`` and ``dtype``.
    """
    fan_in, fan_out = _fans(shape)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _uniform(shape, a, dtype)


def xavier_normal(shape, gain: float = 1.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Xavier/Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).

    Args / Returns: as :func:`xavier_uniform`.
    """
    fan_in, fan_out = _fans(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _normal(shape, std, dtype)


def _kaiming_std(shape, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _fans(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform(shape, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Kaiming/He uniform: U(-b, b), b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).

    Args:
        shape: (out, in, *kernel), at least 2-D.
        a: negative slope of the leaky_relu that follows (used only for "leaky_relu").
        mode: "fan_in" (preserves the forward variance) or "fan_out" (the backward one).
        nonlinearity: the nonlinearity that follows the layer.
        dtype: floating dtype of the result.

    Returns:
        A new tensor of ``shape`` and ``dtype``.

    Raises:
        ValueError: unknown mode or nonlinearity.
    """
    bound = math.sqrt(3.0) * _kaiming_std(shape, a, mode, nonlinearity)
    return _uniform(shape, bound, dtype)


def kaiming_normal(shape, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Kaiming/He normal: N(0, std^2), std = gain / sqrt(fan).

    Args / Returns / Raises: as :func:`kaiming_uniform`.
    """
    return _normal(shape, _kaiming_std(shape, a, mode, nonlinearity), dtype)
