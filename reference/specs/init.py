"""Grading spec for the ``init`` assignment (Xavier/Glorot and Kaiming/He initialization).

``calculate_gain`` is a plain function (Python floats, run once as ``"float64"``).

The four initializers draw random numbers, so they are graded by properties
(:mod:`grader.judge.properties`), never by one exact draw.  Every case checks:

* shape and dtype (automatic: the output must have the reference output's form);
* ``Bounds`` (uniform initializers): every value in [-a, a];
* ``KolmogorovSmirnov``: the values follow U(-a, a) or N(0, std^2);
* ``Moments``: mean 0 and the target std within their confidence intervals;
* ``Independent``: two calls (``repeats=2``) draw uncorrelated values.

The expected bound / std is computed here from the case's own inputs (fans
as in ``torch.nn.init``: for (out, in, *k), fan_in = in * prod(k),
fan_out = out * prod(k)).  Each statistical test has alpha = 3e-7, so a
correct implementation fails a case with probability at most 9e-7 per run
(Bounds is exact).  The first case of each initializer holds >= 100k values
(a ~1.2% error in the std is detected); the others 14k-22k values (~3%),
which keeps ``tests/judge/test_statistics.py`` (every case on 200 seeds) fast.  Shapes are never
square, so fan_in != fan_out and every fan mistake shows.

Float32 cases call without ``dtype`` (the default must be float32); the
``float64`` cases pass ``dtype=torch.float64``.  Mistake variants are written
out here (the spec never imports the reference).
"""

from __future__ import annotations

import math

import torch

from grader.spec import (
    Assignment,
    Bounds,
    Case,
    Function,
    Independent,
    KolmogorovSmirnov,
    Mistake,
    Moments,
    call,
    AUTODIFF,
)

_F64 = ("float64",)
_F32 = ("float32",)
_ALPHA = 3e-7  # per statistical test; three per case -> 9e-7 per case and run

# --------------------------------------------------------------------------- the spec's own formulas


def _fans(shape):
    shape = tuple(int(s) for s in shape)
    rf = math.prod(shape[2:])
    return shape[1] * rf, shape[0] * rf


def _gain(nonlinearity, param=None):
    table = {"linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "conv_transpose1d": 1.0,
             "conv_transpose2d": 1.0, "conv_transpose3d": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3,
             "relu": math.sqrt(2.0), "selu": 0.75}
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    return table[nonlinearity]


def _xavier_bound(shape, gain=1.0, dtype=None):
    fi, fo = _fans(shape)
    return gain * math.sqrt(6.0 / (fi + fo))


def _xavier_std(shape, gain=1.0, dtype=None):
    fi, fo = _fans(shape)
    return gain * math.sqrt(2.0 / (fi + fo))


def _kaiming_std(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", dtype=None):
    fi, fo = _fans(shape)
    return _gain(nonlinearity, a) / math.sqrt(fi if mode == "fan_in" else fo)


def _kaiming_bound(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", dtype=None):
    return math.sqrt(3.0) * _kaiming_std(shape, a, mode, nonlinearity)


def _uniform_props(bound: float) -> tuple:
    return (
        Bounds(-bound, bound),
        KolmogorovSmirnov("uniform", -bound, 2 * bound, alpha=_ALPHA),
        Moments(0.0, bound / math.sqrt(3.0), dist="uniform", alpha=_ALPHA),
        Independent(alpha=_ALPHA),
    )


def _normal_props(std: float) -> tuple:
    return (
        KolmogorovSmirnov("normal", 0.0, std, alpha=_ALPHA),
        Moments(0.0, std, dist="normal", alpha=_ALPHA),
        Independent(alpha=_ALPHA),
    )


def _props(kind: str, target):
    """properties(call) for an initializer: ``target(*args, **kwargs)`` is the bound (uniform) or std (normal)."""

    def properties(c):
        value = target(*c.args, **dict(c.kwargs))
        return _uniform_props(value) if kind == "uniform" else _normal_props(value)

    return properties


def _init_case(cid, kind, target, shape, *, points=1.0, hidden=False, dtypes=_F32, description="", **kw):
    """A statistical case; float32 instances use the default dtype, float64 ones pass dtype=torch.float64."""

    def make(g, dt):
        extra = {"dtype": torch.float64} if str(dt).endswith("float64") else {}
        return call(tuple(shape), **kw, **extra)

    n = math.prod(shape)
    desc = (f"{description}; {n:,} values; false-failure rate 9e-7 "
            f"({'Bounds, ' if kind == 'uniform' else ''}KS, moments, independence)")
    return Case(cid, make, points=points, hidden=hidden, dtypes=dtypes, description=desc,
                properties=_props(kind, target), repeats=2)


# --------------------------------------------------------------------------- mistakes: calculate_gain


def _gain_zero_slope_as_default(nonlinearity, param=None):
    if nonlinearity == "leaky_relu":
        slope = param or 0.01
        return math.sqrt(2.0 / (1 + slope ** 2))
    return _gain(nonlinearity, param)


def _gain_squared(nonlinearity, param=None):
    return _gain(nonlinearity, param) ** 2


# --------------------------------------------------------------------------- mistakes: initializers


def _u(shape, bound, dtype=torch.float32):
    return (torch.rand(tuple(shape), dtype=dtype) * 2 - 1) * bound


def _n(shape, std, dtype=torch.float32):
    return torch.randn(tuple(shape), dtype=dtype) * std


def _xu_fan_in_only(shape, gain=1.0, dtype=torch.float32):
    fi, fo = _fans(shape)
    return _u(shape, gain * math.sqrt(3.0 / fi), dtype)


def _xu_std_as_bound(shape, gain=1.0, dtype=torch.float32):
    return _u(shape, _xavier_std(shape, gain), dtype)


def _xu_no_sqrt(shape, gain=1.0, dtype=torch.float32):
    fi, fo = _fans(shape)
    return _u(shape, gain * 6.0 / (fi + fo), dtype)


def _xu_gain_missing(shape, gain=1.0, dtype=torch.float32):
    return _u(shape, _xavier_bound(shape, 1.0), dtype)


def _xn_fan_in_only(shape, gain=1.0, dtype=torch.float32):
    fi, fo = _fans(shape)
    return _n(shape, gain * math.sqrt(1.0 / fi), dtype)


def _xn_variance_as_std(shape, gain=1.0, dtype=torch.float32):
    fi, fo = _fans(shape)
    return _n(shape, gain ** 2 * 2.0 / (fi + fo), dtype)


def _xn_gain_missing(shape, gain=1.0, dtype=torch.float32):
    return _n(shape, _xavier_std(shape, 1.0), dtype)


def _xn_rand_not_randn(shape, gain=1.0, dtype=torch.float32):
    return torch.rand(tuple(shape), dtype=dtype) * _xavier_std(shape, gain)


def _k_fan(shape, mode, *, fan_sum=False, mode_ignored=False, swapped=False):
    fi, fo = _fans(shape)
    if swapped:
        fi, fo = fo, fi
    if fan_sum:
        return fi + fo
    return fi if (mode == "fan_in" or mode_ignored) else fo


def _kaiming_variant(draw, *, gain_missing=False, variance=False, std_as_bound=False, **fan_kw):
    def variant(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", dtype=torch.float32):
        gain = 1.0 if gain_missing else _gain(nonlinearity, a)
        fan = _k_fan(shape, mode, **fan_kw)
        std = gain ** 2 / fan if variance else gain / math.sqrt(fan)
        if draw == "uniform":
            return _u(shape, std if std_as_bound else math.sqrt(3.0) * std, dtype)
        return _n(shape, std, dtype)

    return variant


def _kn_reseeds(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", dtype=torch.float32):
    fi, fo = _fans(shape)
    std = _gain(nonlinearity, a) / math.sqrt(fi if mode == "fan_in" else fo)
    g = torch.Generator().manual_seed(3)
    return torch.randn(tuple(shape), generator=g, dtype=dtype) * std


# --------------------------------------------------------------------------- oracles (torch.nn.init)


def _oracle_gain(nonlinearity, param=None):
    return float(torch.nn.init.calculate_gain(nonlinearity, param))


def _oracle_xavier_uniform(shape, gain=1.0, dtype=torch.float32):
    return torch.nn.init.xavier_uniform_(torch.empty(tuple(shape), dtype=dtype), gain=gain)


def _oracle_xavier_normal(shape, gain=1.0, dtype=torch.float32):
    return torch.nn.init.xavier_normal_(torch.empty(tuple(shape), dtype=dtype), gain=gain)


def _oracle_kaiming_uniform(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", dtype=torch.float32):
    return torch.nn.init.kaiming_uniform_(torch.empty(tuple(shape), dtype=dtype), a=a, mode=mode,
                                          nonlinearity=nonlinearity)


def _oracle_kaiming_normal(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", dtype=torch.float32):
    return torch.nn.init.kaiming_normal_(torch.empty(tuple(shape), dtype=dtype), a=a, mode=mode,
                                         nonlinearity=nonlinearity)


# --------------------------------------------------------------------------- cases

_GAIN_CASES = (
    Case("linear", lambda g, dt: call("linear"), dtypes=_F64, description="linear: 1"),
    Case("conv2d", lambda g, dt: call("conv2d"), dtypes=_F64, description="conv2d: 1"),
    Case("sigmoid", lambda g, dt: call("sigmoid"), dtypes=_F64, description="sigmoid: 1"),
    Case("tanh", lambda g, dt: call("tanh"), dtypes=_F64, description="tanh: 5/3"),
    Case("relu", lambda g, dt: call("relu"), dtypes=_F64, points=2.0, description="relu: sqrt(2)"),
    Case("leaky_relu_default", lambda g, dt: call("leaky_relu"), dtypes=_F64, points=2.0,
         description="leaky_relu without param: slope 0.01"),
    Case("leaky_relu_0_2", lambda g, dt: call("leaky_relu", 0.2), dtypes=_F64, description="leaky_relu, slope 0.2"),
    Case("leaky_relu_zero", lambda g, dt: call("leaky_relu", 0), dtypes=_F64, points=2.0,
         description="leaky_relu with slope 0 (an int): sqrt(2), not the default slope"),
    Case("selu", lambda g, dt: call("selu"), dtypes=_F64, description="selu: 3/4"),
    Case("hidden_conv_transpose3d", lambda g, dt: call("conv_transpose3d"), dtypes=_F64, hidden=True,
         description="conv_transpose3d: 1"),
    Case("hidden_leaky_relu_kw", lambda g, dt: call("leaky_relu", param=1.0), dtypes=_F64, hidden=True,
         description="leaky_relu, param=1.0 as a keyword: 1"),
)

_XU = _xavier_bound
_XN = _xavier_std

_XAVIER_UNIFORM_CASES = (
    _init_case("linear", "uniform", _XU, (400, 256), points=2.0, description="linear (out, in) = (400, 256), gain 1"),
    _init_case("conv_relu", "uniform", _XU, (64, 32, 3, 3), gain=math.sqrt(2.0),
               description="conv (64, 32, 3, 3), gain sqrt(2) (relu)"),
    _init_case("float64", "uniform", _XU, (160, 96), dtypes=_F64,
               description="dtype=torch.float64, (160, 96), gain 1"),
    _init_case("hidden_conv1d_selu", "uniform", _XU, (48, 40, 11), hidden=True, points=2.0, gain=0.75,
               description="conv1d (48, 40, 11), gain 3/4 (selu)"),
)

_XAVIER_NORMAL_CASES = (
    _init_case("linear", "normal", _XN, (400, 256), points=2.0, description="linear (out, in) = (400, 256), gain 1"),
    _init_case("conv_tanh", "normal", _XN, (64, 32, 3, 3), gain=5.0 / 3,
               description="conv (64, 32, 3, 3), gain 5/3 (tanh)"),
    _init_case("float64", "normal", _XN, (160, 96), dtypes=_F64, gain=math.sqrt(2.0),
               description="dtype=torch.float64, (160, 96), gain sqrt(2)"),
    _init_case("hidden_conv1d_relu", "normal", _XN, (48, 40, 11), hidden=True, points=2.0, gain=math.sqrt(2.0),
               description="conv1d (48, 40, 11), gain sqrt(2)"),
)

_KU = _kaiming_bound
_KN = _kaiming_std

_KAIMING_UNIFORM_CASES = (
    _init_case("linear_default", "uniform", _KU, (400, 256), points=2.0,
               description="linear (400, 256), defaults: a=0, fan_in, leaky_relu (gain sqrt(2))"),
    _init_case("conv_relu_fan_out", "uniform", _KU, (64, 32, 3, 3), points=2.0, mode="fan_out",
               nonlinearity="relu", description="conv (64, 32, 3, 3), mode fan_out, relu"),
    _init_case("leaky_0_2", "uniform", _KU, (160, 128), a=0.2, description="linear (160, 128), leaky_relu a=0.2"),
    _init_case("float64_selu", "uniform", _KU, (80, 240), dtypes=_F64, nonlinearity="selu",
               description="dtype=torch.float64, (80, 240), selu"),
    _init_case("hidden_conv1d_sigmoid_fan_out", "uniform", _KU, (48, 40, 11), hidden=True, points=2.0,
               mode="fan_out", nonlinearity="sigmoid", description="conv1d (48, 40, 11), fan_out, sigmoid"),
)

_KAIMING_NORMAL_CASES = (
    _init_case("linear_default", "normal", _KN, (400, 256), points=2.0,
               description="linear (400, 256), defaults: a=0, fan_in, leaky_relu (gain sqrt(2))"),
    _init_case("conv_relu_fan_out", "normal", _KN, (64, 32, 3, 3), points=2.0, mode="fan_out",
               nonlinearity="relu", description="conv (64, 32, 3, 3), mode fan_out, relu"),
    _init_case("linear_fan_in", "normal", _KN, (96, 224), nonlinearity="linear",
               description="linear (96, 224), nonlinearity linear (gain 1), fan_in"),
    _init_case("float64_tanh", "normal", _KN, (160, 96), dtypes=_F64, mode="fan_out", nonlinearity="tanh",
               description="dtype=torch.float64, (160, 96), fan_out, tanh"),
    _init_case("hidden_conv_leaky_fan_out", "normal", _KN, (32, 48, 3, 3), hidden=True, points=2.0, a=0.1,
               mode="fan_out", description="conv (32, 48, 3, 3), leaky_relu a=0.1, fan_out"),
)

# Every torch.nn module class (nn.Linear, nn.Conv2d, ... initialise themselves with torch.nn.init).
_NN_MODULES = tuple(sorted(f"torch.nn.{n}" for n in dir(torch.nn)
                           if isinstance(getattr(torch.nn, n), type)
                           and issubclass(getattr(torch.nn, n), torch.nn.Module)))

ASSIGNMENT = Assignment(
    id="init",
    position=14,
    title="Weight initialization: Xavier/Glorot and Kaiming/He",
    banned=(
        "torch.nn.init",
        "keras.initializers",
        "jax.nn.initializers",
        "tensorflow.keras.initializers",
        "torch.nn.modules",
        *_NN_MODULES,
        *AUTODIFF,
    ),
    functions=(
        Function(
            name="calculate_gain",
            cases=_GAIN_CASES,
            oracle=_oracle_gain,
            mistakes=(
                Mistake("gain_zero_slope_as_default",
                        "With leaky_relu and param=0 you use the default slope 0.01: `param or 0.01` treats 0 "
                        "as missing. Only param=None means the default; a slope of 0 gives sqrt(2) (as relu). "
                        "Test `param is None`.",
                        _gain_zero_slope_as_default, "slope 0 treated as the default 0.01"),
                Mistake("gain_squared",
                        "Your gains are squared (e.g. 2 for relu): calculate_gain returns the factor for the "
                        "*standard deviation*, sqrt(2) for relu, 5/3 for tanh, sqrt(2 / (1 + slope**2)) for "
                        "leaky_relu; the variance scales by gain**2.",
                        _gain_squared, "variance gain instead of std gain"),
            ),
        ),
        Function(
            name="xavier_uniform",
            cases=_XAVIER_UNIFORM_CASES,
            oracle=_oracle_xavier_uniform,
            mistakes=(
                Mistake("xavier_uniform_fan_in_only",
                        "Your bound uses fan_in only. Did you write sqrt(3 / fan_in) (LeCun's rule)? Glorot "
                        "averages both fans: a = gain * sqrt(6 / (fan_in + fan_out)).",
                        _xu_fan_in_only, "Xavier using fan_in only"),
                Mistake("xavier_uniform_std_as_bound",
                        "Your values are too narrow by sqrt(3): did you use the normal std "
                        "sqrt(2 / (fan_in + fan_out)) as the uniform bound? U(-a, a) has std a / sqrt(3), so "
                        "a = gain * sqrt(6 / (fan_in + fan_out)).",
                        _xu_std_as_bound, "normal std used as the uniform bound"),
                Mistake("xavier_uniform_no_sqrt",
                        "Your bound is 6 / (fan_in + fan_out) without the square root (a variance used as a "
                        "bound). a = gain * sqrt(6 / (fan_in + fan_out)).",
                        _xu_no_sqrt, "variance used as std (no square root)"),
                Mistake("xavier_uniform_gain_missing",
                        "Your spread does not change with gain: did you forget to multiply the bound by gain? "
                        "a = gain * sqrt(6 / (fan_in + fan_out)).",
                        _xu_gain_missing, "gain missing"),
            ),
        ),
        Function(
            name="xavier_normal",
            cases=_XAVIER_NORMAL_CASES,
            oracle=_oracle_xavier_normal,
            mistakes=(
                Mistake("xavier_normal_fan_in_only",
                        "Your std uses fan_in only. Did you write sqrt(1 / fan_in) (LeCun's rule)? Glorot "
                        "averages both fans: std = gain * sqrt(2 / (fan_in + fan_out)).",
                        _xn_fan_in_only, "Xavier using fan_in only"),
                Mistake("xavier_normal_variance_as_std",
                        "Your std is the variance: did you multiply randn by gain**2 * 2 / (fan_in + fan_out)? "
                        "randn must be scaled by the square root, std = gain * sqrt(2 / (fan_in + fan_out)).",
                        _xn_variance_as_std, "variance used as std"),
                Mistake("xavier_normal_gain_missing",
                        "Your spread does not change with gain: did you forget to multiply the std by gain?",
                        _xn_gain_missing, "gain missing"),
                Mistake("xavier_normal_rand_not_randn",
                        "Your values are all positive and uniform: did you call torch.rand (uniform on [0, 1)) "
                        "instead of torch.randn (standard normal)?",
                        _xn_rand_not_randn, "torch.rand instead of torch.randn"),
            ),
        ),
        Function(
            name="kaiming_uniform",
            cases=_KAIMING_UNIFORM_CASES,
            oracle=_oracle_kaiming_uniform,
            mistakes=(
                Mistake("kaiming_uniform_fan_sum",
                        "Your bound is too small: did you use fan_in + fan_out for Kaiming? That is Xavier's "
                        "denominator. Kaiming uses one fan, chosen by mode: b = gain * sqrt(3 / fan).",
                        _kaiming_variant("uniform", fan_sum=True), "Kaiming using fan_in + fan_out"),
                Mistake("kaiming_uniform_gain_missing",
                        "Your bound is sqrt(3 / fan) without the gain: multiply by "
                        "calculate_gain(nonlinearity, a) (sqrt(2) for relu and for the default leaky_relu "
                        "with a = 0).",
                        _kaiming_variant("uniform", gain_missing=True), "gain missing"),
                Mistake("kaiming_uniform_std_as_bound",
                        "Your values are too narrow by sqrt(3): did you use the std gain / sqrt(fan) as the "
                        "uniform bound? U(-b, b) has std b / sqrt(3), so b = gain * sqrt(3 / fan).",
                        _kaiming_variant("uniform", std_as_bound=True), "std used as the uniform bound"),
                Mistake("kaiming_uniform_mode_ignored",
                        "With mode='fan_out' your spread follows fan_in: is mode ignored? Use "
                        "fan_out = out * prod(kernel) when mode is 'fan_out'. (If mode='fan_in' cases fail too, "
                        "your fans are swapped instead: fan_in = shape[1] * prod(kernel).)",
                        _kaiming_variant("uniform", mode_ignored=True), "mode ignored (always fan_in)"),
                Mistake("kaiming_uniform_fans_swapped",
                        "Your fan_in and fan_out are swapped. A torch weight has shape (out, in, *kernel) "
                        "(the transpose of numpy's (n_in, n_out) habit): fan_in = shape[1] * prod(kernel), "
                        "fan_out = shape[0] * prod(kernel).",
                        _kaiming_variant("uniform", swapped=True), "fan_in and fan_out swapped"),
            ),
        ),
        Function(
            name="kaiming_normal",
            cases=_KAIMING_NORMAL_CASES,
            oracle=_oracle_kaiming_normal,
            mistakes=(
                Mistake("kaiming_normal_fan_sum",
                        "Your std is too small: did you use fan_in + fan_out for Kaiming? That is Xavier's "
                        "denominator. Kaiming uses one fan, chosen by mode: std = gain / sqrt(fan).",
                        _kaiming_variant("normal", fan_sum=True), "Kaiming using fan_in + fan_out"),
                Mistake("kaiming_normal_variance_as_std",
                        "Your std is the variance: did you multiply randn by gain**2 / fan? He et al. give "
                        "Var(W) = gain**2 / fan, so std = gain / sqrt(fan).",
                        _kaiming_variant("normal", variance=True), "variance used as std"),
                Mistake("kaiming_normal_gain_missing",
                        "Your std is 1 / sqrt(fan) without the gain: multiply by "
                        "calculate_gain(nonlinearity, a) (sqrt(2) for relu and for the default leaky_relu "
                        "with a = 0).",
                        _kaiming_variant("normal", gain_missing=True), "gain missing"),
                Mistake("kaiming_normal_mode_ignored",
                        "With mode='fan_out' your spread follows fan_in: is mode ignored? Use "
                        "fan_out = out * prod(kernel) when mode is 'fan_out'. (If mode='fan_in' cases fail too, "
                        "your fans are swapped instead: fan_in = shape[1] * prod(kernel).)",
                        _kaiming_variant("normal", mode_ignored=True), "mode ignored (always fan_in)"),
                Mistake("kaiming_normal_fans_swapped",
                        "Your fan_in and fan_out are swapped. A torch weight has shape (out, in, *kernel) "
                        "(the transpose of numpy's (n_in, n_out) habit): fan_in = shape[1] * prod(kernel), "
                        "fan_out = shape[0] * prod(kernel).",
                        _kaiming_variant("normal", swapped=True), "fan_in and fan_out swapped"),
                Mistake("kaiming_normal_reseeds",
                        "Two calls return exactly the same values: do not seed a generator inside the "
                        "function (np.random.seed(3) / torch.manual_seed in an init function makes every "
                        "layer identical). Draw from torch's default generator and leave seeding to the caller.",
                        _kn_reseeds, "generator reseeded on every call"),
            ),
        ),
    ),
)
