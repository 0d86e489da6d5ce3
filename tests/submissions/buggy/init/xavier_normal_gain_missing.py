"""torch.nn.init's structure; Xavier normal ignores gain."""

import math

import torch


def calculate_gain(nonlinearity, param=None):
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    elif nonlinearity == "tanh":
        return 5.0 / 3
    elif nonlinearity == "relu":
        return math.sqrt(2.0)
    elif nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    elif nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(shape):
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    num_input_fmaps = shape[1]
    num_output_fmaps = shape[0]
    receptive_field_size = 1
    for s in shape[2:]:
        receptive_field_size *= s
    return num_input_fmaps * receptive_field_size, num_output_fmaps * receptive_field_size


def xavier_uniform(shape, gain=1.0, dtype=torch.float32):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(shape)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return torch.empty(shape, dtype=dtype).uniform_(-a, a)


def xavier_normal(shape, gain=1.0, dtype=torch.float32):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(shape)
    std = math.sqrt(2.0 / float(fan_in + fan_out))
    return torch.empty(shape, dtype=dtype).normal_(0, std)


def _fan(shape, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", dtype=torch.float32):
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(_fan(shape, mode))
    bound = math.sqrt(3.0) * std
    return torch.empty(shape, dtype=dtype).uniform_(-bound, bound)


def kaiming_normal(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", dtype=torch.float32):
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(_fan(shape, mode))
    return torch.empty(shape, dtype=dtype).normal_(0, std)
