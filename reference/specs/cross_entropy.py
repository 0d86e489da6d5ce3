"""Grading spec for the ``cross_entropy`` assignment (batch softmax cross-entropy).

Cases stress log-sum-exp stability (logits ~ N(0, 1e4^2), all logits near
+1e4 or -1e4), a batch of one, many classes, and targets at the first and
last class.  Mistake variants are written out here (the spec never imports
the reference).
"""

from __future__ import annotations

import torch

from grader.spec import Assignment, Case, Function, GradCheck, Mistake, Tolerance, call, randint, randn, AUTODIFF

# --------------------------------------------------------------------------- helpers


def _edge_targets(n: int, c: int) -> torch.Tensor:
    """Targets alternating between the first (0) and the last (C-1) class."""
    return torch.tensor([0 if i % 3 == 0 else c - 1 for i in range(n)], dtype=torch.int64)


def _rand_case(shape, *, scale=1.0, shift=0.0):
    n, c = shape

    def make(g, dt):
        return call(randn(g, (n, c), dt, scale=scale, shift=shift), randint(g, 0, c, (n,)))

    return make


def _edge_case(shape, *, scale=1.0):
    n, c = shape

    def make(g, dt):
        return call(randn(g, (n, c), dt, scale=scale), _edge_targets(n, c))

    return make


# float32 logits near 1e4 have an ulp of ~1e-3; a float32 loss computed as
# (m + log sum exp(z - m)) - z_t is only good to a couple of those ulps.
_NEAR_1E4_LOSS_TOL = {"float32": Tolerance(rtol=1e-4, atol=2e-3)}


def _cases(loss: bool) -> tuple[Case, ...]:
    tol = _NEAR_1E4_LOSS_TOL if loss else None
    return (
        Case("small", _rand_case((4, 5)), description="N=4, C=5, standard normal logits"),
        Case("batch1", _rand_case((1, 7), scale=2.0), description="N=1, C=7"),
        Case("many_classes", _rand_case((3, 1000), scale=3.0), description="N=3, C=1000"),
        Case("edge_targets", _edge_case((6, 5), scale=2.0),
             description="targets at class 0 and class C-1"),
        Case("large_1e4", _rand_case((5, 6), scale=1e4), points=2.0,
             description="logits ~ N(0, 1e4^2)"),
        Case("near_plus_1e4", _rand_case((4, 5), shift=1e4), points=2.0, tolerance=tol,
             description="all logits ~ 1e4 + N(0, 1): exp() overflows without the shift"),
        Case("near_minus_1e4", _rand_case((3, 4), shift=-1e4), tolerance=tol,
             description="all logits ~ -1e4 + N(0, 1): exp() underflows without the shift"),
        Case("hidden_batch16", _rand_case((16, 10), scale=3.0), hidden=True,
             description="N=16, C=10"),
        Case("hidden_huge_edges", _edge_case((8, 12), scale=1e4), points=2.0, hidden=True,
             description="logits ~ N(0, 1e4^2), targets at 0 and C-1"),
    )


# --------------------------------------------------------------------------- mistakes


def _ce_no_logsumexp_shift(logits, targets):
    n = logits.shape[0]
    lse = torch.log(torch.exp(logits).sum(1))
    return (lse - logits[torch.arange(n), targets]).mean()


def _ce_sum_not_mean(logits, targets):
    n = logits.shape[0]
    shifted = logits - logits.amax(1, keepdim=True)
    lse = torch.log(torch.exp(shifted).sum(1))
    return (lse - shifted[torch.arange(n), targets]).sum()


def _ce_log_of_softmax(logits, targets):
    n = logits.shape[0]
    e = torch.exp(logits - logits.amax(1, keepdim=True))
    p = e / e.sum(1, keepdim=True)
    return -torch.log(p[torch.arange(n), targets]).mean()


def _softmax_rows(logits):
    e = torch.exp(logits - logits.amax(1, keepdim=True))
    return e / e.sum(1, keepdim=True)


def _onehot(targets, like):
    oh = torch.zeros_like(like)
    oh[torch.arange(like.shape[0]), targets] = 1
    return oh


def _ce_grad_not_divided_by_n(logits, targets):
    return _softmax_rows(logits) - _onehot(targets, logits)


def _ce_grad_wrong_sign(logits, targets):
    return (_onehot(targets, logits) - _softmax_rows(logits)) / logits.shape[0]


def _ce_grad_no_max_shift(logits, targets):
    e = torch.exp(logits)
    p = e / e.sum(1, keepdim=True)
    return (p - _onehot(targets, logits)) / logits.shape[0]


# --------------------------------------------------------------------------- oracles (tests only)


def _oracle_cross_entropy(logits, targets):
    import torch.nn.functional as F

    return F.cross_entropy(logits, targets)


def _oracle_cross_entropy_grad(logits, targets):
    import torch.nn.functional as F

    z = logits.detach().clone().requires_grad_()
    (g,) = torch.autograd.grad(F.cross_entropy(z, targets), z)
    return g


ASSIGNMENT = Assignment(
    id="cross_entropy",
    position=2,
    title="Batch softmax cross-entropy and its gradient",
    banned=(
        "torch.nn.functional",
        "torch.log_softmax",
        "torch.special.log_softmax",
        "torch.Tensor.log_softmax",
        "torch.softmax",
        "torch.special.softmax",
        "torch.Tensor.softmax",
        "torch.logsumexp",
        "torch.special.logsumexp",
        "torch.Tensor.logsumexp",
        "torch.logcumsumexp",
        "torch.Tensor.logcumsumexp",
        "torch.special.log_softmax",
        "torch._C._nn",  # the C functions behind torch.nn.functional (cross_entropy_loss, nll_loss, ...)
        "torch.nn.LogSoftmax",
        "torch.nn.Softmax",
        "scipy.special.logsumexp",
        "scipy.special.softmax",
        "scipy.special.log_softmax",
        "sklearn.metrics.log_loss",
        "sklearn.utils.extmath.softmax",
        "torchmetrics",
        "jax.nn",
        "jax.scipy.special",
        "tensorflow.nn",
        "tensorflow.math",
        "keras.losses",
        "keras.ops",
        "torch.nn.CrossEntropyLoss",
        "torch.nn.NLLLoss",
        *AUTODIFF,
    ),
    banned_ops=(
        "aten::_log_softmax",
        "aten::_log_softmax_backward_data",
        "aten::_softmax",
        "aten::_softmax_backward_data",
        "aten::logsumexp",
        "aten::nll_loss_forward",
        "aten::nll_loss_backward",
        "aten::nll_loss2d_forward",
        "aten::cross_entropy_loss",
        "aten::logcumsumexp",
        "aten::_logcumsumexp",
        "aten::_safe_softmax",
        "aten::log_softmax",
        "aten::softmax",
        "aten::nll_loss",
        "aten::nll_loss_nd",
        "aten::nll_loss2d",
    ),
    functions=(
        Function(
            name="cross_entropy",
            oracle=_oracle_cross_entropy,
            cases=_cases(loss=True),
            mistakes=(
                Mistake(
                    "ce_no_logsumexp_shift",
                    "Your loss is inf/NaN for large logits: log(sum(exp(z))) overflows (exp(1e4) = inf) "
                    "or underflows to log(0) = -inf. Use the log-sum-exp trick: with m = max_j z_j, "
                    "log sum exp(z) = m + log sum exp(z - m).",
                    _ce_no_logsumexp_shift,
                    "log(sum(exp(logits))) without the max shift",
                ),
                Mistake(
                    "ce_sum_not_mean",
                    "Your loss is N times too large: it sums the per-example losses. The loss is the "
                    "mean over the batch (divide by N, or use .mean()).",
                    _ce_sum_not_mean,
                    "sum over the batch instead of the mean",
                ),
                Mistake(
                    "ce_log_of_softmax",
                    "You compute softmax first and then take log(p[target]). When the target's "
                    "probability underflows to 0 (logits ~1e4 apart) this gives log(0) = -inf and an "
                    "infinite loss, although the true loss is finite. Compute the log-probability "
                    "directly: (z_t - m) - log sum exp(z - m).",
                    _ce_log_of_softmax,
                    "log of a softmax that underflows",
                ),
            ),
        ),
        Function(
            name="cross_entropy_grad",
            oracle=_oracle_cross_entropy_grad,
            # the loss is smooth; step 1e-4 keeps the rounding error of losses ~1e4 (logits ~1e4) small
            gradcheck=GradCheck(inputs=lambda c: c, wrt={0: ()}, forward="cross_entropy", step=1e-4),
            cases=_cases(loss=False),
            mistakes=(
                Mistake(
                    "ce_grad_not_divided_by_n",
                    "Your gradient is N times too large: the loss is a mean over the batch, so "
                    "dloss/dlogits = (softmax(logits) - onehot(targets)) / N.",
                    _ce_grad_not_divided_by_n,
                    "gradient not divided by N",
                ),
                Mistake(
                    "ce_grad_wrong_sign",
                    "Your gradient has the wrong sign: it is (softmax - onehot) / N, not "
                    "(onehot - softmax) / N. Increasing the target's logit must decrease the loss.",
                    _ce_grad_wrong_sign,
                    "onehot - softmax",
                ),
                Mistake(
                    "ce_grad_no_max_shift",
                    "The softmax in your gradient overflows for large logits (NaN). Subtract the row "
                    "max before exp().",
                    _ce_grad_no_max_shift,
                    "gradient from an unstable softmax",
                ),
            ),
        ),
    ),
)
