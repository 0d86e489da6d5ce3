"""Correct init in the style of a from-scratch framework: Linear/Conv layer
classes that initialise their own weight with a chosen scheme (rand/randn
scaled by hand), wrapped to the contract's functions. Kaiming's std is taken
from the variance 2/n the way the He paper states it."""

import math

import torch

GAINS = {
    "linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0,
    "conv_transpose1d": 1.0, "conv_transpose2d": 1.0, "conv_transpose3d": 1.0,
    "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 3.0 / 4,
}


def calculate_gain(nonlinearity, param=None):
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope * slope))
    if nonlinearity not in GAINS:
        raise ValueError("Unsupported nonlinearity " + str(nonlinearity))
    return GAINS[nonlinearity]


class Layer:
    """A weight of shape (out_features, in_features, *kernel_size)."""

    def __init__(self, shape, dtype=torch.float32):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.W = None

    @property
    def fan_in(self):
        return self.shape[1] * math.prod(self.shape[2:])

    @property
    def fan_out(self):
        return self.shape[0] * math.prod(self.shape[2:])

    def init_uniform(self, var):
        # U(-b, b) has variance b^2 / 3
        b = math.sqrt(3.0 * var)
        self.W = (2.0 * torch.rand(self.shape, dtype=self.dtype) - 1.0) * b
        return self.W

    def init_normal(self, var):
        self.W = torch.randn(self.shape, dtype=self.dtype) * math.sqrt(var)
        return self.W


def xavier_uniform(shape, gain=1.0, dtype=torch.float32):
    layer = Layer(shape, dtype)
    var = gain ** 2 * 2.0 / (layer.fan_in + layer.fan_out)
    return layer.init_uniform(var)


def xavier_normal(shape, gain=1.0, dtype=torch.float32):
    layer = Layer(shape, dtype)
    var = gain ** 2 * 2.0 / (layer.fan_in + layer.fan_out)
    return layer.init_normal(var)


def _he_var(layer, a, mode, nonlinearity):
    n = layer.fan_in if mode == "fan_in" else layer.fan_out
    return calculate_gain(nonlinearity, a) ** 2 / n


def kaiming_uniform(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", dtype=torch.float32):
    layer = Layer(shape, dtype)
    return layer.init_uniform(_he_var(layer, a, mode, nonlinearity))


def kaiming_normal(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", dtype=torch.float32):
    layer = Layer(shape, dtype)
    return layer.init_normal(_he_var(layer, a, mode, nonlinearity))
