"""Assignment ``init``: Xavier/Glorot and Kaiming/He weight initialization, by hand.

You implement five functions:

* ``calculate_gain(nonlinearity, param=None)``
* ``xavier_uniform`` and ``xavier_normal``
* ``kaiming_uniform`` and ``kaiming_normal``

Fans, as in ``torch.nn.init``: a weight has shape (out, in, *kernel) -- a
linear layer (out, in), a conv2d (out, in, kh, kw). With
receptive = prod(kernel) (1 for a linear layer)::

    fan_in  = in  * receptive
    fan_out = out * receptive

Formulas::

    xavier_uniform   U(-a, a),      a   = gain * sqrt(6 / (fan_in + fan_out))
    xavier_normal    N(0, std^2),   std = gain * sqrt(2 / (fan_in + fan_out))
    kaiming_uniform  U(-b, b),      b   = gain * sqrt(3 / fan)
    kaiming_normal   N(0, std^2),   std = gain / sqrt(fan)
    (Kaiming: fan = fan_in or fan_out by ``mode``; gain = calculate_gain(nonlinearity, a))

Draw with torch's default generator (``torch.rand``, ``torch.randn``,
``Tensor.uniform_``, ``Tensor.normal_``): the caller seeds it. Never seed
inside your functions.

How you are graded: random outputs cannot be compared with one draw, so the
grader checks their *statistics*: shape and dtype, every value within the
bounds (uniform), the distribution (Kolmogorov-Smirnov test on >= 100k
values), mean and standard deviation within their confidence intervals, and
that two calls give independent draws. A correct solution fails a case with
probability below 1e-6.

Banned: ``torch.nn.init.*`` and the ``torch.nn`` modules (``nn.Linear``,
``nn.Conv2d``, ... initialise themselves with it), and autograd.

Also banned: other libraries' initializers (keras.initializers,
jax.nn.initializers, tensorflow.keras.initializers), and any other automatic
differentiation (jax.grad, jax.vjp, jax.jvp, jax.jacrev, jax.jacfwd,
autograd.grad, tensorflow.GradientTape).

Tip (interview notes): weights must not start at 0 (or all equal): every
unit would compute the same thing. Use Xavier for sigmoid/tanh layers and
He (Kaiming) for ReLU layers: He's variance 2/n is Xavier's 1/n times 2,
because ReLU zeroes half of its inputs.

Check your work with::

    grade check -a init
"""

import torch


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``.

    ==================================================  =========================
    nonlinearity                                        gain
    ==================================================  =========================
    linear, conv1d/2d/3d, conv_transpose1d/2d/3d         1
    sigmoid                                             1
    tanh                                                5/3
    relu                                                sqrt(2)
    leaky_relu                                          sqrt(2 / (1 + slope^2))
    selu                                                3/4
    ==================================================  =========================

    Args:
        nonlinearity: one of the names above.
        param: leaky_relu's negative slope; None means the default 0.01
            (a slope of 0 is a slope of 0, not "missing").

    Returns:
        The gain, a Python float.

    Raises:
        ValueError: an unknown nonlinearity.

    Banned: torch.nn.init.*.

    Tip: the gain multiplies the *standard deviation*; the variance is scaled by gain^2.
    """
    raise NotImplementedError


def xavier_uniform(shape, gain: float = 1.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Xavier/Glorot uniform initialization: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).

    Args:
        shape: tuple (out, in, *kernel), at least 2-D.
        gain: scale factor (e.g. calculate_gain("tanh")).
        dtype: floating dtype of the result (default float32).

    Returns:
        A new tensor of ``shape`` and ``dtype`` (on the CPU), drawn from torch's
        default generator.

    Banned: torch.nn.init.*, torch.nn modules.

    Tip: U(-a, a) has variance a^2 / 3; Glorot wants variance
    2 / (fan_in + fan_out), hence the 6 under the square root.
    """
    raise NotImplementedError


def xavier_normal(shape, gain: float = 1.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Xavier/Glorot normal initialization: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).

    Args:
        shape: tuple (out, in, *kernel), at least 2-D.
        gain: scale factor.
        dtype: floating dtype of the result (default float32).

    Returns:
        A new tensor of ``shape`` and ``dtype``, drawn from torch's default generator.

    Banned: torch.nn.init.*, torch.nn modules.

    Tip: ``torch.randn`` is the standard normal; ``torch.rand`` is uniform on
    [0, 1) -- one letter apart.
    """
    raise NotImplementedError


def kaiming_uniform(shape, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Kaiming/He uniform initialization: U(-b, b), b = gain * sqrt(3 / fan).

    gain = calculate_gain(nonlinearity, a); fan = fan_in if mode == "fan_in" else fan_out.

    Args:
        shape: tuple (out, in, *kernel), at least 2-D.
        a: negative slope of the leaky_relu after this layer (only used for "leaky_relu").
        mode: "fan_in" (keeps the forward pass's variance) or "fan_out" (the backward pass's).
        nonlinearity: the nonlinearity after this layer.
        dtype: floating dtype of the result (default float32).

    Returns:
        A new tensor of ``shape`` and ``dtype``, drawn from torch's default generator.

    Banned: torch.nn.init.*, torch.nn modules.

    Tip: the defaults (a = 0, leaky_relu) give gain sqrt(2), the ReLU gain.
    Mind the axis order: torch weights are (out, in), the transpose of numpy's
    (n_in, n_out) habit.
    """
    raise NotImplementedError


def kaiming_normal(shape, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Kaiming/He normal initialization: N(0, std^2), std = gain / sqrt(fan).

    Args: as :func:`kaiming_uniform`.

    Returns:
        A new tensor of ``shape`` and ``dtype``, drawn from torch's default generator.

    Banned: torch.nn.init.*, torch.nn modules.

    Tip (interview notes): for ReLU, He et al. derive Var(W) = 2 / n -- the
    variance, so the std is sqrt(2 / n).
    """
    raise NotImplementedError
