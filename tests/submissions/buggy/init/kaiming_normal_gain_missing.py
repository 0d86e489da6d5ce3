"""numpy at the boundary; He normal without the gain."""

import numpy as np
import torch


def calculate_gain(nonlinearity, param=None):
    if nonlinearity in ("linear", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return float(np.sqrt(2.0))
    if nonlinearity == "leaky_relu":
        s = 0.01 if param is None else param
        return float(np.sqrt(2.0 / (1.0 + s ** 2)))
    if nonlinearity == "selu":
        return 0.75
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _fans(shape):
    shape = np.asarray(shape)
    rf = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return int(shape[1]) * rf, int(shape[0]) * rf


def _uniform01(shape):
    return torch.rand(tuple(shape), dtype=torch.float64).numpy()


def _std_normal(shape):
    return torch.randn(tuple(shape), dtype=torch.float64).numpy()


def _out(a, dtype):
    return torch.from_numpy(a).to(dtype)


def xavier_uniform(shape, gain=1.0, dtype=torch.float32):
    n_in, n_out = _fans(shape)
    limit = gain * np.sqrt(6.0 / (n_in + n_out))
    return _out(-limit + 2.0 * limit * _uniform01(shape), dtype)


def xavier_normal(shape, gain=1.0, dtype=torch.float32):
    n_in, n_out = _fans(shape)
    return _out(_std_normal(shape) * gain * np.sqrt(2.0 / (n_in + n_out)), dtype)


def kaiming_uniform(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", dtype=torch.float32):
    n_in, n_out = _fans(shape)
    n = n_in if mode == "fan_in" else n_out
    limit = calculate_gain(nonlinearity, a) * np.sqrt(3.0 / n)
    return _out(-limit + 2.0 * limit * _uniform01(shape), dtype)


def kaiming_normal(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", dtype=torch.float32):
    n_in, n_out = _fans(shape)
    n = n_in if mode == "fan_in" else n_out
    return _out(_std_normal(shape) / np.sqrt(n), dtype)
