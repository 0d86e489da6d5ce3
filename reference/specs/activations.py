"""Grading spec for the ``activations`` assignment (sigmoid, softmax and derivatives).

Cases stress what hand-written versions get wrong: overflow at |x| = 1e4,
rows of very different magnitude, exact zeros, a reduction dim other than -1,
1-D and 3-D inputs.  Mistake variants below are written out here (the spec
never imports the reference).
"""

from __future__ import annotations

import torch

from grader.spec import (
    Assignment,
    Case,
    Function,
    GradCheck,
    Mistake,
    Tolerance,
    call,
    randn,
    as_dtype as _dt,
    with_zeros as _with_zeros,
    tensor as _tensor,
    AUTODIFF,
)

# --------------------------------------------------------------------------- helpers


def _stable_softmax64(z: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim in float64 (instructor-side helper for building ``s``)."""
    z = z.to(torch.float64)
    e = torch.exp(z - z.amax(-1, keepdim=True))
    return e / e.sum(-1, keepdim=True)


def _softmax_out(g, shape, dtype, scale=1.0) -> torch.Tensor:
    """A valid softmax output ``s`` (rows sum to 1) of ``shape``, cast to ``dtype``."""
    return _stable_softmax64(randn(g, shape, torch.float64, scale=scale)).to(_dt(dtype))


_EXTREMES = [-1e4, -1000.0, -100.0, -40.0, -1.0, 0.0, 1.0, 40.0, 100.0, 1000.0, 1e4]


def _extremes_and_random(g, dtype):
    row = _tensor(_EXTREMES, dtype)  # (11,)
    rnd = randn(g, (2, len(_EXTREMES)), dtype, scale=1e4)  # (2, 11)
    return torch.cat([row.unsqueeze(0), rnd], dim=0)  # (3, 11)


_MIXED_ROWS = [
    [1e4, 0.0, -1e4, 5e3],
    [-1e4, -1e4 + 1.0, -1e4 + 2.0, -1e4 + 3.0],  # all logits near -1e4: exp underflows
    [0.0, 0.0, 0.0, 0.0],
    [1e4, 1e4, 1e4, -1e4],  # ties at the max
    [-3.0, 2.0, 0.5, 0.0],
]

# --------------------------------------------------------------------------- mistakes


def _sigmoid_overflow(x):
    e = torch.exp(x)
    return e / (1 + e)


def _sigmoid_sign_flipped(x):
    return 1 / (1 + torch.exp(x))


def _sigmoid_grad_wrong(x):
    # sigma'(x) = s (1 - s) applied to x itself instead of to s = sigma(x)
    return x * (1 - x)


def _sigmoid_grad_overflow(x):
    e = torch.exp(-x)
    return e / (1 + e) ** 2


def _softmax_no_max_shift(x, dim=-1):
    e = torch.exp(x)
    return e / e.sum(dim, keepdim=True)


def _softmax_wrong_dim(x, dim=-1):
    e = torch.exp(x - x.amax(-1, keepdim=True))
    return e / e.sum(-1, keepdim=True)


def _softmax_global_max_shift(x, dim=-1):
    e = torch.exp(x - x.max())
    return e / e.sum(dim, keepdim=True)


def _sm_last(x):
    e = torch.exp(x - x.amax(-1, keepdim=True))
    return e / e.sum(-1, keepdim=True)


def _softmax_jacobian_no_diag(x):
    s = _sm_last(x)
    return -s.unsqueeze(-1) * s.unsqueeze(-2)


def _softmax_jacobian_diag_only(x):
    s = _sm_last(x)
    return torch.diag_embed(s * (1 - s))


def _softmax_jacobian_no_max_shift(x):
    e = torch.exp(x)
    s = e / e.sum(-1, keepdim=True)
    return torch.diag_embed(s) - s.unsqueeze(-1) * s.unsqueeze(-2)


def _softmax_backward_missing_sum(grad_output, s):
    return s * grad_output


def _softmax_backward_diag_only(grad_output, s):
    return s * (1 - s) * grad_output


def _softmax_backward_sum_all_rows(grad_output, s):
    return s * (grad_output - (grad_output * s).sum())


# --------------------------------------------------------------------------- oracles (tests only)


def _oracle_sigmoid(x):
    return torch.sigmoid(x)


def _oracle_sigmoid_grad(x):
    xl = x.detach().clone().requires_grad_()
    (g,) = torch.autograd.grad(torch.sigmoid(xl), xl, torch.ones_like(x))
    return g


def _oracle_softmax(x, dim=-1):
    import torch.nn.functional as F

    return F.softmax(x, dim=dim)


def _oracle_softmax_jacobian(x):
    import torch.nn.functional as F

    C = x.shape[-1]
    rows = x.reshape(-1, C)
    jac = [torch.autograd.functional.jacobian(lambda r: F.softmax(r, dim=-1), row) for row in rows]
    return torch.stack(jac).reshape(*x.shape, C)


def _oracle_softmax_backward(grad_output, s):
    import torch.nn.functional as F

    # softmax(log s) = s; autograd's softmax backward uses the output s only, so exact zeros in s are fine
    xl = torch.log(s).detach().requires_grad_()
    (g,) = torch.autograd.grad(F.softmax(xl, dim=-1), xl, grad_output)
    return g


# --------------------------------------------------------------------------- cases

# With float32 logits of size ~1e4 (ulp ~1e-3), the common and correct form
# exp(x - logsumexp(x)) is only good to ~5e-4 relative (logsumexp = m + log(...)
# rounds at 1e4).  Plain e / e.sum() is exact to a few ulps; both are accepted.
_F32_NEAR_1E4 = {"float32": Tolerance(rtol=1e-3, atol=1e-5)}

_SIGMOID_CASES = (
    Case("small", lambda g, dt: call(randn(g, (4, 6), dt, scale=2.0)),
         description="4x6 standard normal (x2)"),
    Case("exact_zeros", lambda g, dt: call(_with_zeros(g, randn(g, (3, 5), dt))),
         description="3x5 with exact zeros and -0.0"),
    Case("extremes_1e4", lambda g, dt: call(_extremes_and_random(g, dt)), points=2.0,
         description="x = +-1e4, +-1000, +-100, +-40, 0 and N(0, 1e4^2) entries"),
    Case("vector_1d", lambda g, dt: call(randn(g, (7,), dt, scale=3.0)),
         description="1-D input of 7 values"),
    Case("batch_3d", lambda g, dt: call(randn(g, (2, 3, 4), dt, scale=5.0)),
         description="3-D input (2, 3, 4)"),
    Case("hidden_mixed", lambda g, dt: call(_with_zeros(g, randn(g, (5, 8), dt, scale=1e3))),
         points=2.0, hidden=True, description="magnitudes ~1e3 with exact zeros"),
    Case("hidden_scalar", lambda g, dt: call(randn(g, (), dt, scale=200.0)), hidden=True,
         description="0-d input"),
)

_SOFTMAX_CASES = (
    Case("small", lambda g, dt: call(randn(g, (4, 5), dt)),
         description="4x5 standard normal, default dim=-1"),
    Case("dim0", lambda g, dt: call(randn(g, (5, 3), dt, scale=2.0), dim=0),
         description="5x3, dim=0 (columns sum to 1)"),
    Case("dim1_3d", lambda g, dt: call(randn(g, (2, 4, 3), dt, scale=2.0), dim=1),
         description="3-D (2, 4, 3), dim=1"),
    Case("large_1e4", lambda g, dt: call(randn(g, (3, 6), dt, scale=1e4), dim=-1), points=2.0,
         tolerance=_F32_NEAR_1E4,
         description="logits ~ N(0, 1e4^2)"),
    Case("mixed_rows", lambda g, dt: call(_tensor(_MIXED_ROWS, dt)), points=2.0,
         tolerance=_F32_NEAR_1E4,
         description="rows near +1e4, near -1e4, zeros, ties at the max"),
    Case("vector_1d", lambda g, dt: call(randn(g, (6,), dt, scale=3.0)),
         description="1-D input"),
    Case("batch1", lambda g, dt: call(randn(g, (1, 10), dt, scale=3.0), dim=-1),
         description="batch of one row, 10 classes"),
    Case("hidden_dim0_3d", lambda g, dt: call(randn(g, (4, 3, 2), dt, scale=1e3), 0), points=2.0,
         tolerance=_F32_NEAR_1E4,
         hidden=True, description="3-D, dim=0 (positional), magnitudes ~1e3"),
    Case("hidden_neg_dim", lambda g, dt: call(randn(g, (3, 5, 4), dt, scale=10.0), dim=-2),
         hidden=True, description="3-D, dim=-2"),
)

_JACOBIAN_CASES = (
    Case("small", lambda g, dt: call(randn(g, (3, 4), dt)), description="3x4 logits"),
    Case("vector_1d", lambda g, dt: call(randn(g, (5,), dt, scale=2.0)),
         description="1-D logits (5,) -> (5, 5)"),
    Case("batch_3d", lambda g, dt: call(randn(g, (2, 3, 4), dt, scale=2.0)),
         description="3-D logits (2, 3, 4) -> (2, 3, 4, 4)"),
    Case("large_1e4", lambda g, dt: call(randn(g, (2, 5), dt, scale=1e4)), points=2.0,
         tolerance=_F32_NEAR_1E4,
         description="logits ~ N(0, 1e4^2)"),
    Case("zeros", lambda g, dt: call(torch.zeros((2, 3), dtype=_dt(dt))),
         description="all-zero logits (uniform softmax)"),
    Case("batch1", lambda g, dt: call(randn(g, (1, 6), dt, scale=3.0)), description="one row"),
    Case("hidden_3d", lambda g, dt: call(randn(g, (3, 2, 5), dt, scale=30.0)), points=2.0,
         hidden=True, description="3-D logits, magnitudes ~30"),
)

_BACKWARD_CASES = (
    Case("small", lambda g, dt: call(randn(g, (4, 5), dt), _softmax_out(g, (4, 5), dt)),
         description="4x5 upstream gradient and softmax output"),
    Case("vector_1d", lambda g, dt: call(randn(g, (6,), dt), _softmax_out(g, (6,), dt, scale=2.0)),
         description="1-D"),
    Case("batch_3d", lambda g, dt: call(randn(g, (2, 3, 4), dt, scale=3.0),
                                        _softmax_out(g, (2, 3, 4), dt, scale=2.0)),
         description="3-D (2, 3, 4)"),
    Case("saturated_1e4", lambda g, dt: call(randn(g, (3, 5), dt), _softmax_out(g, (3, 5), dt, scale=1e4)),
         points=2.0, gradcheck=False,  # s has exact zeros: no logits x with softmax(x) = s to differentiate at
         description="s from logits ~1e4 (exact 0s and 1s)"),
    Case("batch1", lambda g, dt: call(randn(g, (1, 7), dt), _softmax_out(g, (1, 7), dt)),
         description="one row"),
    Case("hidden_large_grad", lambda g, dt: call(randn(g, (5, 6), dt, scale=100.0),
                                                 _softmax_out(g, (5, 6), dt, scale=3.0)),
         points=2.0, hidden=True, description="upstream gradient ~100"),
    Case("hidden_3d", lambda g, dt: call(randn(g, (3, 2, 4), dt), _softmax_out(g, (3, 2, 4), dt)),
         hidden=True, description="3-D (3, 2, 4)"),
)

ASSIGNMENT = Assignment(
    id="activations",
    position=1,
    title="Sigmoid, softmax and their derivatives",
    banned=(
        "torch.sigmoid",
        "torch.sigmoid_",
        "torch.Tensor.sigmoid",
        "torch.Tensor.sigmoid_",
        "torch.special.expit",
        "torch.softmax",
        "torch.special.softmax",
        "torch.Tensor.softmax",
        "torch.log_softmax",
        "torch.special.log_softmax",
        "torch.Tensor.log_softmax",
        "torch._C._nn",  # the C functions behind torch.nn.functional (elu, log_sigmoid, ...)
        "torch.nn.Sigmoid",
        "torch.nn.Softmax",
        "torch.nn.LogSoftmax",
        "torch.nn.Softmax2d",
        "scipy.special.expit",
        "scipy.special.log_expit",
        "scipy.special.softmax",
        "scipy.special.log_softmax",
        "sklearn.utils.extmath.softmax",
        "jax.nn",
        "jax.scipy.special",
        "tensorflow.nn",
        "tensorflow.math",
        "tensorflow.sigmoid",
        "keras.activations",
        "keras.ops",
        "torch.nn.functional",
        *AUTODIFF,
    ),
    banned_ops=(
        "aten::sigmoid",
        "aten::sigmoid_",
        "aten::sigmoid_backward",
        "aten::_softmax",
        "aten::_softmax_backward_data",
        "aten::_log_softmax",
        "aten::_log_softmax_backward_data",
        "aten::_safe_softmax",  # what F.scaled_dot_product_attention's softmax dispatches
        "aten::log_softmax",
        "aten::softmax",
        "aten::special_expit",
        "aten::log_sigmoid_forward",
    ),
    functions=(
        Function(
            name="sigmoid",
            oracle=_oracle_sigmoid,
            cases=_SIGMOID_CASES,
            mistakes=(
                Mistake(
                    "sigmoid_overflow",
                    "Your sigmoid returns NaN for large positive inputs: exp(x) overflows to inf and "
                    "inf/(1+inf) is NaN. Never exponentiate a large positive number: use 1/(1+exp(-x)) for "
                    "x >= 0 and exp(x)/(1+exp(x)) for x < 0 (e.g. with torch.where on z = exp(-|x|)).",
                    _sigmoid_overflow,
                    "sigmoid computed as exp(x)/(1+exp(x))",
                ),
                Mistake(
                    "sigmoid_sign_flipped",
                    "Your sigmoid is mirrored: it returns 1/(1+exp(x)) = sigma(-x). The sigmoid is "
                    "1/(1+exp(-x)): it tends to 1 for large positive x.",
                    _sigmoid_sign_flipped,
                    "sigmoid with the sign of x flipped",
                ),
            ),
        ),
        Function(
            name="sigmoid_grad",
            oracle=_oracle_sigmoid_grad,
            cases=_SIGMOID_CASES,
            mistakes=(
                Mistake(
                    "sigmoid_grad_wrong",
                    "Your sigmoid_grad computes x*(1-x): the formula s*(1-s) must be applied to "
                    "s = sigmoid(x), not to the input x itself (sigmoid_grad receives the pre-activation).",
                    _sigmoid_grad_wrong,
                    "x*(1-x) instead of s*(1-s)",
                ),
                Mistake(
                    "sigmoid_grad_overflow",
                    "Your sigmoid_grad returns NaN for large negative inputs: exp(-x)/(1+exp(-x))**2 "
                    "becomes inf/inf. Compute s = sigmoid(x) stably and return s*(1-s), or use "
                    "z = exp(-|x|) and z/(1+z)**2 (the derivative is symmetric in x).",
                    _sigmoid_grad_overflow,
                    "derivative formula exp(-x)/(1+exp(-x))^2 overflows",
                ),
            ),
        ),
        Function(
            name="softmax",
            oracle=_oracle_softmax,
            cases=_SOFTMAX_CASES,
            mistakes=(
                Mistake(
                    "softmax_no_max_shift",
                    "Your softmax overflows for large inputs (exp(1e4) = inf, and inf/inf = NaN; for very "
                    "negative rows every exp() underflows to 0 and 0/0 = NaN). Subtract the max along dim "
                    "(keepdim=True) before exp(); softmax is shift-invariant, so the result is unchanged.",
                    _softmax_no_max_shift,
                    "softmax without the max shift",
                ),
                Mistake(
                    "softmax_wrong_dim",
                    "Your softmax always normalizes over the last dimension and ignores the dim argument. "
                    "Use dim in every reduction (x.amax(dim, keepdim=True), e.sum(dim, keepdim=True)).",
                    _softmax_wrong_dim,
                    "softmax over dim -1 regardless of dim",
                ),
                Mistake(
                    "softmax_global_max_shift",
                    "You subtract the max of the whole tensor instead of the max of each slice along dim. "
                    "When one row is near +1e4 and another near -1e4, every exp() of the second row "
                    "underflows to 0 and the row becomes 0/0 = NaN. Use x.amax(dim, keepdim=True).",
                    _softmax_global_max_shift,
                    "softmax shifted by the global max",
                ),
            ),
        ),
        Function(
            name="softmax_jacobian",
            oracle=_oracle_softmax_jacobian,
            cases=_JACOBIAN_CASES,
            mistakes=(
                Mistake(
                    "softmax_jacobian_no_diag",
                    "Your Jacobian is missing the diagonal term: J = diag(s) - s s^T, i.e. "
                    "J[i, j] = s_i (delta_ij - s_j). You returned only -s s^T. Add torch.diag_embed(s).",
                    _softmax_jacobian_no_diag,
                    "Jacobian without diag(s)",
                ),
                Mistake(
                    "softmax_jacobian_diag_only",
                    "Your Jacobian is diagonal (s_i (1 - s_i) on the diagonal, 0 elsewhere), as if softmax "
                    "acted elementwise like sigmoid. Each s_i depends on every x_j: the off-diagonal "
                    "entries are -s_i s_j. Use J = diag(s) - s s^T.",
                    _softmax_jacobian_diag_only,
                    "Jacobian with the diagonal only",
                ),
                Mistake(
                    "softmax_jacobian_no_max_shift",
                    "The softmax inside your Jacobian overflows for logits ~1e4 (NaN). Subtract the row "
                    "max before exp().",
                    _softmax_jacobian_no_max_shift,
                    "Jacobian from an unstable softmax",
                ),
            ),
        ),
        Function(
            name="softmax_backward",
            oracle=_oracle_softmax_backward,
            # x = log(s) gives softmax(x) = s: the student's own softmax is differentiated there
            gradcheck=GradCheck(
                inputs=lambda c: call(torch.log(c.args[1])),
                wrt={0: ()},
                forward="softmax",
                upstream=lambda c: c.args[0],
            ),
            cases=_BACKWARD_CASES,
            mistakes=(
                Mistake(
                    "softmax_backward_missing_sum",
                    "You returned s * g, treating softmax as elementwise. Each output depends on every "
                    "input, so dx = s * (g - sum_j g_j s_j): subtract (g * s).sum(-1, keepdim=True) "
                    "from g before multiplying by s.",
                    _softmax_backward_missing_sum,
                    "s * g without the - s (g . s) term",
                ),
                Mistake(
                    "softmax_backward_diag_only",
                    "You used only the diagonal of the Jacobian, s*(1-s)*g. The off-diagonal terms "
                    "-s_i s_j matter: dx = s * (g - (g * s).sum(-1, keepdim=True)).",
                    _softmax_backward_diag_only,
                    "s(1-s) g (diagonal of the Jacobian only)",
                ),
                Mistake(
                    "softmax_backward_sum_all_rows",
                    "Your dot product g.s is summed over the whole tensor instead of over the last "
                    "dimension of each row. Use (g * s).sum(-1, keepdim=True).",
                    _softmax_backward_sum_all_rows,
                    "g.s summed over all rows",
                ),
            ),
        ),
    ),
)
