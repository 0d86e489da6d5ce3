"""Grading spec for the ``layernorm`` assignment (ASSIGNMENTS.md, section 9).

Cases stress what hand-written layer norms get wrong: the axis (a batch of
one, (N, D) and (N, T, D) inputs, D = 1), the biased variance (D = 1 makes
the unbiased one 0/0), eps inside the square root (eps = 0.1 with small
variances), constant rows (variance exactly 0) and magnitudes up to 1e4,
including rows with a large common offset where E[x^2] - E[x]^2 cancels.
Mistake variants are written out here (the spec never imports the reference).
"""

from __future__ import annotations

import torch

from grader.spec import Assignment, Case, Function, GradCheck, Mistake, Tolerance, call, randint, randn, AUTODIFF

# --------------------------------------------------------------------------- inputs


def _make(shape, *, scale=1.0, shift=0.0, eps=None, backward=False, constant_rows=0):
    D = shape[-1]

    def make(g, dt):
        # Draw order: grad_out, gamma, then x.  The gradient check's probe directions are drawn from a
        # generator seeded like this one (harness, for now): a direction along x itself is one layer norm
        # is blind to (it is scale invariant), so x must not be among the first same-shaped draws.
        grad_out = randn(g, shape, dt) if backward else None
        gamma = randn(g, (D,), dt, scale=0.5, shift=1.0)
        x = randn(g, shape, dt, scale=scale, shift=shift)
        if constant_rows:
            flat = x.reshape(-1, D)
            # rows of one repeated multiple of 1/4: the row mean is exact in float32 too, variance exactly 0
            flat[:constant_rows] = (randint(g, -8, 9, (constant_rows, 1)) / 4).to(x.dtype)
            x = flat.reshape(shape)
        extra = {} if eps is None else {"eps": eps}
        if backward:
            return call(grad_out, x, gamma, **extra)
        beta = randn(g, (D,), dt, scale=0.5)
        return call(x, gamma, beta, **extra)

    return make


# --------------------------------------------------------------------------- mistake variants


def _ln(x, gamma, beta, eps, *, dim=-1, correction=0, eps_outside=False):
    mu = x.mean(dim=dim, keepdim=True)
    var = ((x - mu) ** 2).sum(dim=dim, keepdim=True) / (x.shape[dim] - correction)
    denom = var.sqrt() + eps if eps_outside else (var + eps).sqrt()
    return (x - mu) / denom * gamma + beta


def _ln_over_batch_axis(x, gamma, beta, eps=1e-5):
    return _ln(x, gamma, beta, eps, dim=0)


def _ln_unbiased_var(x, gamma, beta, eps=1e-5):
    return _ln(x, gamma, beta, eps, correction=1)


def _ln_eps_outside_sqrt(x, gamma, beta, eps=1e-5):
    return _ln(x, gamma, beta, eps, eps_outside=True)


def _ln_parts(x, eps):
    mu = x.mean(dim=-1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)
    inv = 1.0 / (var + eps).sqrt()
    return (x - mu) * inv, inv


def _ln_backward_naive_dx(grad_out, x, gamma, eps=1e-5):
    xhat, inv = _ln_parts(x, eps)
    D = x.shape[-1]
    dx = grad_out * gamma * inv  # only the direct path through xhat
    return dx, (grad_out * xhat).reshape(-1, D).sum(0), grad_out.reshape(-1, D).sum(0)


def _ln_full_dx(grad_out, x, gamma, eps):
    xhat, inv = _ln_parts(x, eps)
    gh = grad_out * gamma
    dx = inv * (gh - gh.mean(-1, keepdim=True) - xhat * (gh * xhat).mean(-1, keepdim=True))
    return dx, xhat


def _ln_backward_dgamma_no_xhat(grad_out, x, gamma, eps=1e-5):
    dx, _ = _ln_full_dx(grad_out, x, gamma, eps)
    D = x.shape[-1]
    return dx, grad_out.reshape(-1, D).sum(0), grad_out.reshape(-1, D).sum(0)


def _ln_backward_dgamma_batch_axis_only(grad_out, x, gamma, eps=1e-5):
    # (N, D) code reused on (N, T, D): dgamma and dbeta summed over dim 0 only -> (T, D)
    dx, xhat = _ln_full_dx(grad_out, x, gamma, eps)
    return dx, (grad_out * xhat).sum(0), grad_out.sum(0)


# --------------------------------------------------------------------------- oracles (tests only)


def _oracle_forward(x, gamma, beta, eps=1e-5):
    import torch.nn.functional as F

    return F.layer_norm(x, (x.shape[-1],), gamma, beta, eps)


def _oracle_backward(grad_out, x, gamma, eps=1e-5):
    import torch.nn.functional as F

    xl, gl = x.detach().clone().requires_grad_(), gamma.detach().clone().requires_grad_()
    bl = torch.zeros_like(gamma, requires_grad=True)
    out = F.layer_norm(xl, (x.shape[-1],), gl, bl, eps)
    return torch.autograd.grad(out, (xl, gl, bl), grad_out)


def _gc_inputs(c):
    grad_out, x, gamma = c.args[:3]
    eps = c.args[3] if len(c.args) > 3 else c.kwargs.get("eps", 1e-5)
    return call(x, gamma, torch.zeros_like(gamma), eps)


# --------------------------------------------------------------------------- cases

# x ~ 1e4 + N(0, 1) in float32 is itself quantized to ~1e-3, and a float32 mean
# of such values is off by about as much: x - mean (and the output) carry an
# absolute error ~1e-3 whatever the (correct) method.  E[x^2] - E[x]^2 loses
# everything there (variance error ~ 1e8 * 6e-8), so the case still catches it.
_OFFSET_F32 = {"float32": Tolerance(rtol=1e-3, atol=1e-2)}

_FWD_CASES = (
    Case("rows_2d", _make((4, 6), scale=2.0, shift=1.0), points=2.0, description="(N, D) = (4, 6)"),
    Case("seq_3d", _make((2, 3, 5)), points=2.0, description="(N, T, D) = (2, 3, 5): normalize over D only"),
    Case("batch1", _make((1, 8), scale=3.0), description="a single row: layer norm does not need a batch"),
    Case("eps_0.1", _make((3, 4), scale=0.3, eps=0.1), description="eps = 0.1 with row variances ~0.1"),
    Case("d1", _make((5, 1)), description="D = 1: every row has variance 0, out = beta"),
    Case("constant_rows", _make((4, 5), constant_rows=2), description="two rows of one repeated value (variance 0)"),
    Case("large_1e4", _make((3, 7), scale=1e4), description="x ~ N(0, 1e4^2)"),
    Case("hidden_offset_1e4", _make((4, 8), shift=1e4), hidden=True, points=2.0, tolerance=_OFFSET_F32,
         description="x ~ 1e4 + N(0, 1): a large common offset"),
    Case("hidden_4d", _make((2, 2, 3, 4), scale=2.0), hidden=True, description="4-D (2, 2, 3, 4)"),
)

_BWD_CASES = (
    Case("rows_2d", _make((4, 6), scale=2.0, shift=1.0, backward=True), points=2.0, description="(N, D) = (4, 6)"),
    Case("seq_3d", _make((2, 3, 5), backward=True), points=2.0,
         description="(N, T, D) = (2, 3, 5): dgamma, dbeta sum over N and T"),
    Case("batch1", _make((1, 8), scale=3.0, backward=True), description="a single row"),
    Case("eps_0.1", _make((3, 4), scale=0.3, eps=0.1, backward=True), description="eps = 0.1"),
    Case("d1", _make((5, 1), backward=True), description="D = 1: dx = 0, dgamma = 0"),
    Case("large_1e4", _make((3, 7), scale=1e4, backward=True), description="x ~ N(0, 1e4^2)"),
    Case("hidden_seq_3d", _make((3, 4, 6), scale=2.0, backward=True), hidden=True, points=2.0,
         description="(N, T, D) = (3, 4, 6)"),
    Case("hidden_4d", _make((2, 2, 3, 4), backward=True), hidden=True, description="4-D (2, 2, 3, 4)"),
)

_NORM_BANNED = (
    "torch.nn",  # torch.nn.functional.* and every torch.nn module
    "torch.layer_norm",
    "torch.native_layer_norm",
    "torch.rms_norm",
    "torch.group_norm",
    "torch.native_group_norm",
    "torch.instance_norm",
    "torch.ao",  # quantized norm modules
    "torch._C._nn",
    "sklearn.preprocessing",  # StandardScaler, scale: the normalization itself
    "jax.nn",
    "flax",
    "tensorflow.nn",
    "keras.layers",
    "keras.ops",
    "torch.batch_norm",
    "torch.native_batch_norm",
    "torch._native_batch_norm_legit",
    *AUTODIFF,
)

_NORM_BANNED_OPS = (
    "aten::layer_norm",
    "aten::native_layer_norm",
    "aten::native_layer_norm_backward",
    "aten::rms_norm",
    "aten::_fused_rms_norm",
    "aten::group_norm",
    "aten::native_group_norm",
    "aten::native_group_norm_backward",
    "aten::instance_norm",
    "aten::batch_norm",
    "aten::native_batch_norm",
    "aten::native_batch_norm_backward",
    "aten::_native_batch_norm_legit",
    "aten::_native_batch_norm_legit_no_training",
    "aten::_batch_norm_impl_index",
)

ASSIGNMENT = Assignment(
    id="layernorm",
    position=9,
    title="Layer normalization, forward and backward",
    banned=_NORM_BANNED,
    banned_ops=_NORM_BANNED_OPS,
    functions=(
        Function(
            name="layernorm_forward",
            cases=_FWD_CASES,
            oracle=_oracle_forward,
            mistakes=(
                Mistake(
                    "ln_over_batch_axis",
                    "You normalized over the batch axis (dim 0), which is batch norm. Layer norm normalizes "
                    "each row on its own, over its LAST dimension: mean and variance with dim=-1, "
                    "keepdim=True. It does not depend on the other examples of the batch.",
                    _ln_over_batch_axis,
                    "statistics over the batch axis",
                ),
                Mistake(
                    "ln_unbiased_var",
                    "You used the unbiased variance (divided by D - 1; torch.var's default). Layer norm uses "
                    "the biased one, divided by D: x.var(dim=-1, unbiased=False) or ((x - mu)**2).mean(-1).",
                    _ln_unbiased_var,
                    "unbiased variance",
                ),
                Mistake(
                    "ln_eps_outside_sqrt",
                    "You divide by sqrt(var) + eps. eps belongs inside the square root: "
                    "(x - mu) / sqrt(var + eps).",
                    _ln_eps_outside_sqrt,
                    "eps outside the square root",
                ),
            ),
        ),
        Function(
            name="layernorm_backward",
            cases=_BWD_CASES,
            oracle=_oracle_backward,
            gradcheck=GradCheck(
                inputs=_gc_inputs,
                wrt={0: (0,), 1: (1,), 2: (2,)},
                forward="layernorm_forward",
                upstream=lambda c: c.args[0],
            ),
            mistakes=(
                Mistake(
                    "ln_backward_naive_dx",
                    "Your dx is grad_out * gamma / sqrt(var + eps): it treats the mean and the variance as "
                    "constants. Both depend on every x of the row, so two more terms appear: with "
                    "g = grad_out * gamma, dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps), "
                    "means over the last dim.",
                    _ln_backward_naive_dx,
                    "dx without the mean and variance paths",
                ),
                Mistake(
                    "ln_backward_dgamma_no_xhat",
                    "Your dgamma equals dbeta: y = gamma * xhat + beta, so dgamma = sum of grad_out * xhat "
                    "(over every dim but the last), not the sum of grad_out.",
                    _ln_backward_dgamma_no_xhat,
                    "dgamma without xhat",
                ),
                Mistake(
                    "ln_backward_dgamma_batch_axis_only",
                    "Your dgamma/dbeta are summed over dim 0 only, so for (N, T, D) inputs they have shape "
                    "(T, D). gamma and beta are (D,): sum over every dim except the last, e.g. "
                    "(grad_out * xhat).reshape(-1, D).sum(0).",
                    _ln_backward_dgamma_batch_axis_only,
                    "dgamma/dbeta summed over dim 0 only",
                ),
            ),
        ),
    ),
)
