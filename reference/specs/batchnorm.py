"""Grading spec of the ``batchnorm`` assignment (see ASSIGNMENTS.md, section 4).

``batchnorm_backward`` (added in the catalogue) is checked on 2-D, 3-D and 4-D
inputs (statistics per channel over every dim but 1), a batch of two, a large
eps, magnitudes ~1e4 and a batch of one with spatial positions.
"""

from __future__ import annotations

import torch

from grader.spec import Assignment, Case, Function, GradCheck, Mistake, call, rand, randn, AUTODIFF

# --------------------------------------------------------------------------- #
# Inputs
# --------------------------------------------------------------------------- #


def _params(g, C, dt, *, rm_shift=0.0, rm_scale=0.5, rv_low=0.5, rv_high=2.0):
    """gamma, beta, running_mean, running_var for C channels."""
    gamma = randn(g, (C,), dt, scale=0.5, shift=1.0)
    beta = randn(g, (C,), dt, scale=0.5)
    running_mean = randn(g, (C,), dt, scale=rm_scale, shift=rm_shift)
    running_var = rand(g, (C,), dt, low=rv_low, high=rv_high)
    return gamma, beta, running_mean, running_var


def _make(shape, training, *, x_scale=1.0, x_shift=0.0, params=None, **kwargs):
    params = params or {}

    def make(g, dt):
        x = randn(g, shape, dt, scale=x_scale, shift=x_shift)
        return call(x, *_params(g, shape[1], dt, **params), training, **kwargs)

    return make


# --------------------------------------------------------------------------- #
# Known mistakes (each self-contained: the spec must not import reference/)
# --------------------------------------------------------------------------- #


def _dims(x):
    return (0,) + tuple(range(2, x.dim())), (1, x.shape[1]) + (1,) * (x.dim() - 2)


def _bn_generic(
    x,
    gamma,
    beta,
    running_mean,
    running_var,
    training,
    momentum=0.1,
    eps=1e-5,
    *,
    eval_uses_batch=False,
    eval_updates=False,
    running_var_biased=False,
    flip_momentum=False,
    eps_outside=False,
    normalize_unbiased=False,
):
    dims, bshape = _dims(x)
    m = x.numel() // x.shape[1]
    bmean = x.mean(dim=dims)
    bvar = ((x - bmean.reshape(bshape)) ** 2).mean(dim=dims)
    bvar_unb = bvar * m / (m - 1)
    if flip_momentum:
        new_rm = momentum * running_mean + (1 - momentum) * bmean
        new_rv = momentum * running_var + (1 - momentum) * (bvar if running_var_biased else bvar_unb)
    else:
        new_rm = (1 - momentum) * running_mean + momentum * bmean
        new_rv = (1 - momentum) * running_var + momentum * (bvar if running_var_biased else bvar_unb)
    if training or eval_uses_batch:
        mean, var = bmean, (bvar_unb if normalize_unbiased else bvar)
    else:
        mean, var = running_mean, running_var
    if not (training or eval_updates):
        new_rm, new_rv = running_mean.clone(), running_var.clone()
    denom = var.sqrt() + eps if eps_outside else (var + eps).sqrt()
    out = (x - mean.reshape(bshape)) / denom.reshape(bshape) * gamma.reshape(bshape) + beta.reshape(bshape)
    return out, new_rm, new_rv


def _batch_stats_at_inference(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    return _bn_generic(x, gamma, beta, running_mean, running_var, training, momentum, eps, eval_uses_batch=True)


def _always_training(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    return _bn_generic(
        x, gamma, beta, running_mean, running_var, training, momentum, eps, eval_uses_batch=True, eval_updates=True
    )


def _biased_running_var(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    return _bn_generic(x, gamma, beta, running_mean, running_var, training, momentum, eps, running_var_biased=True)


def _momentum_flipped(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    return _bn_generic(x, gamma, beta, running_mean, running_var, training, momentum, eps, flip_momentum=True)


def _eps_outside_sqrt(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    return _bn_generic(x, gamma, beta, running_mean, running_var, training, momentum, eps, eps_outside=True)


def _unbiased_normalization(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    return _bn_generic(x, gamma, beta, running_mean, running_var, training, momentum, eps, normalize_unbiased=True)


def _wrong_axes(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Statistics over dim 0 only: one mean/variance per (channel, position).

    The running statistics still have to be (C,), so the per-position statistics
    are averaged over the positions of each channel before the update.
    """
    _, bshape = _dims(x)
    C, n = x.shape[1], x.shape[0]
    if training:
        mean = x.mean(dim=0, keepdim=True)  # (1, C, *)
        var = ((x - mean) ** 2).mean(dim=0, keepdim=True)  # (1, C, *)
        new_rm = (1 - momentum) * running_mean + momentum * mean.reshape(C, -1).mean(dim=1)
        new_rv = (1 - momentum) * running_var + momentum * (var * n / (n - 1)).reshape(C, -1).mean(dim=1)
    else:
        mean, var = running_mean.reshape(bshape), running_var.reshape(bshape)
        new_rm, new_rv = running_mean.clone(), running_var.clone()
    out = (x - mean) / (var + eps).sqrt() * gamma.reshape(bshape) + beta.reshape(bshape)
    return out, new_rm, new_rv


# --------------------------------------------------------------------------- #
# batchnorm_backward: inputs, mistakes, oracles
# --------------------------------------------------------------------------- #


def _make_backward(shape, *, x_scale=1.0, x_shift=0.0, eps=None):
    def make(g, dt):
        # Draw order: grad_out, gamma, then x.  The gradient check's probe directions are drawn from a
        # generator seeded like this one (harness, for now): a direction along x itself is one batch norm
        # is blind to (it is invariant to scaling x per channel), so x must not be among the first draws.
        grad_out = randn(g, shape, dt)
        gamma = randn(g, (shape[1],), dt, scale=0.5, shift=1.0)
        x = randn(g, shape, dt, scale=x_scale, shift=x_shift)
        return call(grad_out, x, gamma) if eps is None else call(grad_out, x, gamma, eps=eps)

    return make


def _bn_backward_parts(grad_out, x, gamma, eps):
    dims, bshape = _dims(x)
    mean = x.mean(dim=dims).reshape(bshape)
    var = ((x - mean) ** 2).mean(dim=dims).reshape(bshape)
    inv = 1.0 / (var + eps).sqrt()
    xhat = (x - mean) * inv
    return dims, bshape, inv, xhat


def _bn_backward_naive_dx(grad_out, x, gamma, eps=1e-5):
    dims, bshape, inv, xhat = _bn_backward_parts(grad_out, x, gamma, eps)
    dx = grad_out * gamma.reshape(bshape) * inv  # only the direct path through xhat
    return dx, (grad_out * xhat).sum(dim=dims), grad_out.sum(dim=dims)


def _bn_full_dx(grad_out, x, gamma, eps):
    dims, bshape, inv, xhat = _bn_backward_parts(grad_out, x, gamma, eps)
    gh = grad_out * gamma.reshape(bshape)
    dx = inv * (gh - gh.mean(dim=dims, keepdim=True) - xhat * (gh * xhat).mean(dim=dims, keepdim=True))
    return dims, xhat, dx


def _bn_backward_dgamma_no_xhat(grad_out, x, gamma, eps=1e-5):
    dims, _, dx = _bn_full_dx(grad_out, x, gamma, eps)
    return dx, grad_out.sum(dim=dims), grad_out.sum(dim=dims)


def _bn_backward_wrong_axes(grad_out, x, gamma, eps=1e-5):
    """(N, C) code on (N, C, ...) inputs: statistics and sums over dim 0 only."""
    shape = (1, x.shape[1]) + (1,) * (x.dim() - 2)
    mean = x.mean(dim=0, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=0, keepdim=True)
    inv = 1.0 / (var + eps).sqrt()
    xhat = (x - mean) * inv
    gh = grad_out * gamma.reshape(shape)
    dx = inv * (gh - gh.mean(dim=0, keepdim=True) - xhat * (gh * xhat).mean(dim=0, keepdim=True))
    return dx, (grad_out * xhat).sum(dim=0), grad_out.sum(dim=0)


def _oracle_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    import torch.nn.functional as F

    rm, rv = running_mean.clone(), running_var.clone()  # F.batch_norm updates them in place
    out = F.batch_norm(x, rm, rv, gamma, beta, training=training, momentum=momentum, eps=eps)
    return out, rm, rv


def _oracle_backward(grad_out, x, gamma, eps=1e-5):
    import torch.nn.functional as F

    xl, gl = x.detach().clone().requires_grad_(), gamma.detach().clone().requires_grad_()
    bl = torch.zeros_like(gamma, requires_grad=True)
    out = F.batch_norm(xl, None, None, gl, bl, training=True, eps=eps)
    return torch.autograd.grad(out, (xl, gl, bl), grad_out)


def _gc_inputs(c):
    grad_out, x, gamma = c.args[:3]
    eps = c.args[3] if len(c.args) > 3 else c.kwargs.get("eps", 1e-5)
    zeros, ones = torch.zeros_like(gamma), torch.ones_like(gamma)
    return call(x, gamma, zeros, zeros, ones, True, 0.1, eps)


_BACKWARD_CASES = (
    Case("train_2d", _make_backward((8, 4)), points=2.0, description="(N, C) = (8, 4)"),
    Case("train_3d", _make_backward((4, 3, 5)), points=2.0,
         description="(N, C, L) = (4, 3, 5): statistics and sums over N and L"),
    Case("train_4d", _make_backward((3, 4, 2, 3), x_scale=2.0, x_shift=1.0), points=2.0,
         description="(N, C, H, W) = (3, 4, 2, 3): over N, H and W"),
    Case("batch_2", _make_backward((2, 5)), description="N = 2"),
    Case("eps_0.5", _make_backward((3, 2, 4), x_scale=0.3, eps=0.5), description="eps = 0.5 (keyword)"),
    # no gradient check here: a central difference with step 1e-6 on x ~ 3e4 keeps only ~4 digits
    Case("large_1e4", _make_backward((4, 2, 3, 3), x_scale=1e4, x_shift=3e4), gradcheck=False,
         description="x ~ 3e4 + N(0, 1e8)"),
    Case("hidden_batch_1_4d", _make_backward((1, 3, 4, 4)), hidden=True, points=2.0,
         description="N = 1 with 4x4 positions per channel"),
    Case("hidden_3d", _make_backward((5, 2, 6), x_scale=3.0), hidden=True, description="(5, 2, 6)"),
)


# --------------------------------------------------------------------------- #
# The assignment
# --------------------------------------------------------------------------- #

_FAR = {"rm_shift": 5.0, "rm_scale": 0.3, "rv_low": 8.0, "rv_high": 10.0}  # running stats far from N(0, 1)
_SMALL_VAR = {"rv_low": 0.05, "rv_high": 0.3}  # eps = 0.5 dominates these

_CASES = (
    Case("train_2d", _make((8, 4), True), description="(N, C) = (8, 4), training"),
    Case("train_3d", _make((4, 3, 5), True), description="(N, C, L) = (4, 3, 5), training"),
    Case("train_4d", _make((3, 4, 2, 3), True, x_scale=2.0, x_shift=1.0), description="(N, C, H, W), training"),
    Case(
        "eval_4d_far_running_stats",
        _make((4, 3, 2, 2), False, params=_FAR),
        description="inference, running_mean ~ 5 and running_var ~ 9 while the batch is ~ N(0, 1)",
    ),
    Case(
        "train_n2_momentum_0.3",
        _make((2, 5), True, momentum=0.3),
        description="batch of 2: biased and unbiased variance differ by a factor 2; momentum 0.3",
    ),
    Case(
        "eval_2d_large_eps",
        _make((6, 4), False, params=_SMALL_VAR, eps=0.5),
        description="inference with eps = 0.5 and small running variances",
    ),
    Case(
        "train_3d_large_eps_momentum_1",
        _make((3, 2, 4), True, x_scale=0.3, momentum=1.0, eps=0.5),
        description="training, eps = 0.5 (comparable to the batch variance), momentum = 1.0",
    ),
    Case(
        "train_4d_large_1e4",
        _make((4, 2, 3, 3), True, x_scale=1e4, x_shift=3e4),
        hidden=True,
        description="training, magnitudes ~ 1e4",
    ),
    Case(
        "train_3d_batch_1",
        _make((1, 3, 6), True, momentum=0.3, eps=0.5),
        hidden=True,
        description="N = 1 with L = 6 (statistics over N*L = 6 values); eps = 0.5",
    ),
    Case(
        "eval_3d_batch_1_far",
        _make((1, 4, 3), False, params=_FAR, eps=0.5),
        hidden=True,
        description="inference with a single sample, far running statistics",
    ),
)

ASSIGNMENT = Assignment(
    id="batchnorm",
    position=4,
    title="Batch normalization: training vs inference",
    banned=(
        "torch.nn",  # torch.nn.functional.* and the torch.nn modules
        "torch.batch_norm",
        "torch.native_batch_norm",
        "torch._native_batch_norm_legit",
        "torch._native_batch_norm_legit_no_training",
        "torch._batch_norm_impl_index",
        "torch.cudnn_batch_norm",
        "torch.miopen_batch_norm",
        "torch.layer_norm",
        "torch.native_layer_norm",
        "torch.group_norm",
        "torch.native_group_norm",
        "torch.instance_norm",
        "torch.rms_norm",
        "torch.ao",  # quantized norm modules
        "torch._C._nn",
        "sklearn.preprocessing",  # StandardScaler, scale: the normalization itself
        "jax.nn",
        "flax",
        "tensorflow.nn",
        "keras.layers",
        "keras.ops",
        *AUTODIFF,
    ),
    banned_ops=(
        "aten::batch_norm",
        "aten::native_batch_norm",
        "aten::_native_batch_norm_legit",
        "aten::_native_batch_norm_legit_no_training",
        "aten::_native_batch_norm_legit_functional",
        "aten::_batch_norm_impl_index",
        "aten::_batch_norm_with_update",
        "aten::_batch_norm_with_update_functional",
        "aten::_batch_norm_no_update",
        "aten::cudnn_batch_norm",
        "aten::miopen_batch_norm",
        "aten::batch_norm_stats",
        "aten::batch_norm_elemt",
        "aten::batch_norm_update_stats",
        "aten::batch_norm_gather_stats",
        "aten::batch_norm_gather_stats_with_counts",
        "aten::native_batch_norm_backward",
        "aten::batch_norm_backward",
        "aten::cudnn_batch_norm_backward",
        "aten::miopen_batch_norm_backward",
        "aten::batch_norm_backward_reduce",
        "aten::batch_norm_backward_elemt",
        "aten::layer_norm",
        "aten::native_layer_norm",
        "aten::group_norm",
        "aten::native_group_norm",
        "aten::instance_norm",
        "aten::rms_norm",
        "aten::_fused_rms_norm",
        "aten::native_layer_norm_backward",
        "aten::native_group_norm_backward",
    ),
    functions=(
        Function(
            name="batchnorm_forward",
            cases=_CASES,
            oracle=_oracle_forward,
            mistakes=(
                Mistake(
                    "bn_batch_stats_at_inference",
                    "With training=False you normalized with the statistics of the current batch. At inference "
                    "the batch may be a single example or come from a different distribution: normalize with "
                    "running_mean and running_var instead (and return them unchanged).",
                    _batch_stats_at_inference,
                    "batch statistics used at inference",
                ),
                Mistake(
                    "bn_always_training",
                    "Your function behaves the same for training=False as for training=True: it normalizes with "
                    "the batch statistics and updates the running statistics. At inference, normalize with "
                    "running_mean/running_var and return them unchanged.",
                    _always_training,
                    "training flag ignored",
                ),
                Mistake(
                    "bn_biased_running_var",
                    "Your running variance is updated with the biased batch variance (divided by m). "
                    "torch.nn.BatchNorm normalizes with the biased variance but feeds the UNBIASED one "
                    "(divided by m - 1, m = values per channel) into running_var.",
                    _biased_running_var,
                    "biased variance in running_var",
                ),
                Mistake(
                    "bn_momentum_flipped",
                    "Your running statistics give weight `momentum` to the OLD value. In PyTorch's convention "
                    "momentum is the weight of the NEW batch statistic: "
                    "new = (1 - momentum) * running + momentum * batch.",
                    _momentum_flipped,
                    "momentum weights swapped",
                ),
                Mistake(
                    "bn_eps_outside_sqrt",
                    "You divide by sqrt(var) + eps. eps belongs inside the square root: "
                    "(x - mean) / sqrt(var + eps). The difference is visible when eps is not tiny.",
                    _eps_outside_sqrt,
                    "eps outside the square root",
                ),
                Mistake(
                    "bn_wrong_axes",
                    "Your statistics are taken over dim 0 only, so for (N, C, L) or (N, C, H, W) inputs every "
                    "position gets its own mean and variance. Batch norm has one mean/variance per channel: "
                    "reduce over every dim except dim 1, e.g. dim=(0, 2, 3) for 4-D input.",
                    _wrong_axes,
                    "statistics over the wrong axes",
                ),
                Mistake(
                    "bn_unbiased_normalization",
                    "In training you normalized with the unbiased batch variance (divided by m - 1). Normalize "
                    "with the biased variance (divided by m, unbiased=False / correction=0); the unbiased one "
                    "is only used to update running_var.",
                    _unbiased_normalization,
                    "unbiased variance used to normalize",
                ),
            ),
        ),
        Function(
            name="batchnorm_backward",
            cases=_BACKWARD_CASES,
            oracle=_oracle_backward,
            gradcheck=GradCheck(
                inputs=_gc_inputs,
                wrt={0: (0,), 1: (1,), 2: (2,)},
                forward="batchnorm_forward",
                upstream=lambda c: c.args[0],
                output=(0,),
            ),
            mistakes=(
                Mistake(
                    "bn_backward_naive_dx",
                    "Your dx is grad_out * gamma / sqrt(var + eps): it treats the batch mean and variance as "
                    "constants. Both depend on every x of the channel, which adds two terms: with "
                    "g = grad_out * gamma, dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps), "
                    "means per channel over every dim but 1.",
                    _bn_backward_naive_dx,
                    "dx without the mean and variance paths",
                ),
                Mistake(
                    "bn_backward_dgamma_no_xhat",
                    "Your dgamma equals dbeta: out = gamma * xhat + beta, so dgamma = sum of grad_out * xhat "
                    "per channel, not the sum of grad_out.",
                    _bn_backward_dgamma_no_xhat,
                    "dgamma without xhat",
                ),
                Mistake(
                    "bn_backward_wrong_axes",
                    "Your backward pass reduces over dim 0 only, so for (N, C, L) or (N, C, H, W) inputs every "
                    "position gets its own statistics and dgamma/dbeta are not (C,). Reduce over every dim "
                    "except dim 1, e.g. dim=(0, 2, 3), as in the forward pass.",
                    _bn_backward_wrong_axes,
                    "statistics and sums over dim 0 only",
                ),
            ),
        ),
    ),
)
