"""Grading spec for the ``losses`` assignment (ASSIGNMENTS.md, section 10).

Cases stress what hand-written losses get wrong: SVM margins of exactly 0
(integer-valued scores; the contract: inactive), margins other than 1, rows
where every margin is inactive, a batch of one; binary cross-entropy at
|z| = 1e4 (log of a sigmoid that under/overflows gives inf or NaN), soft
targets, and shapes other than (N, C) (1-D, 3-D, 0-d).
Mistake variants are written out here (the spec never imports the reference).
"""

from __future__ import annotations

import torch

from grader.spec import (
    Assignment,
    Case,
    Function,
    GradCheck,
    Mistake,
    call,
    rand,
    randint,
    randn,
    as_dtype as _dt,
    tensor as _tensor,
    AUTODIFF,
)

# --------------------------------------------------------------------------- inputs


def _svm(n, c, *, scale=1.0, ints=None, step=1.0, margin=None, margin_kw=True, inactive=False):
    """SVM inputs; ``ints=k``: scores are multiples of ``step`` in [0, k*step) (exact ties, margins of exactly 0)."""

    def make(g, dt):
        y = randint(g, 0, c, (n,))
        if ints:
            s = (randint(g, 0, ints, (n, c)) * step).to(_dt(dt))
        else:
            s = randn(g, (n, c), dt, scale=scale)
        if inactive:
            s[torch.arange(n), y] += 20.0  # every margin inactive: loss 0, gradient 0
        if margin is None:
            return call(s, y)
        return call(s, y, margin=margin) if margin_kw else call(s, y, margin)

    return make


def _bce(shape, *, scale=1.0, soft=True):
    def make(g, dt):
        z = randn(g, shape, dt, scale=scale)
        t = rand(g, shape, dt) if soft else randint(g, 0, 2, shape).to(_dt(dt))
        return call(z, t)

    return make


_EXTREME_Z = [[1e4, -1e4, 1e4, -1e4, 1e4, -1e4],
              [1000.0, -1000.0, 100.0, -100.0, 40.0, -40.0],
              [0.0, 1.0, -1.0, 5.0, -5.0, 20.0]]
_EXTREME_T = [[0.0, 1.0, 0.25, 0.75, 1.0, 0.0],
              [0.0, 1.0, 0.5, 0.5, 1.0, 0.0],
              [0.5, 1.0, 0.0, 0.25, 1.0, 0.0]]


def _bce_extremes(g, dt):
    return call(_tensor(_EXTREME_Z, dt), _tensor(_EXTREME_T, dt))


def _bce_mixed_1e4(g, dt):
    z = randn(g, (5, 4), dt, scale=1e4)
    return call(z, rand(g, (5, 4), dt))


# --------------------------------------------------------------------------- mistake variants


def _svm_parts(scores, targets, margin):
    n, c = scores.shape
    is_t = torch.arange(c).unsqueeze(0) == targets.unsqueeze(1)
    m = scores - scores.gather(1, targets.unsqueeze(1)) + margin
    return n, is_t, m


def _svm_counts_correct_class(scores, targets, margin=1.0):
    n, _, m = _svm_parts(scores, targets, margin)
    return m.clamp(min=0).sum() / n  # the j == y term adds `margin` per row


def _svm_margin_sign(scores, targets, margin=1.0):
    n, is_t, _ = _svm_parts(scores, targets, margin)
    m = scores - (scores.gather(1, targets.unsqueeze(1)) + margin)
    return torch.where(is_t, torch.zeros_like(m), m.clamp(min=0)).sum() / n


def _svm_grad(scores, targets, margin, *, ge=False, count_correct=False, correct_term=True, divide=True):
    n, is_t, m = _svm_parts(scores, targets, margin)
    active = (m >= 0) if ge else (m > 0)
    if not count_correct:
        active = active & ~is_t
    a = active.to(scores.dtype)
    d = torch.where(is_t, -a.sum(1, keepdim=True), a) if correct_term else torch.where(is_t, torch.zeros_like(a), a)
    return d / n if divide else d


def _svm_grad_counts_correct_class(scores, targets, margin=1.0):
    return _svm_grad(scores, targets, margin, count_correct=True)


def _svm_grad_missing_correct_class(scores, targets, margin=1.0):
    return _svm_grad(scores, targets, margin, correct_term=False)


def _svm_grad_margin_zero_active(scores, targets, margin=1.0):
    return _svm_grad(scores, targets, margin, ge=True)


def _svm_grad_not_divided_by_n(scores, targets, margin=1.0):
    return _svm_grad(scores, targets, margin, divide=False)


def _bce_unstable_log_sigmoid(logits, targets):
    p = 1.0 / (1.0 + torch.exp(-logits))
    return -(targets * torch.log(p) + (1 - targets) * torch.log(1 - p)).mean()


def _bce_stable_terms(z, t):
    return z.clamp(min=0) - z * t + torch.log1p(torch.exp(-z.abs()))


def _bce_sum_not_mean(logits, targets):
    return _bce_stable_terms(logits, targets).sum()


def _stable_sigmoid(z):
    e = torch.exp(-z.abs())
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _bce_grad_not_divided(logits, targets):
    return _stable_sigmoid(logits) - targets


def _bce_grad_wrong_sign(logits, targets):
    return (targets - _stable_sigmoid(logits)) / logits.numel()


def _bce_grad_sigmoid_overflow(logits, targets):
    e = torch.exp(logits)
    return (e / (1 + e) - targets) / logits.numel()


# --------------------------------------------------------------------------- oracles (tests only)


def _oracle_svm_loss(scores, targets, margin=1.0):
    return torch.nn.MultiMarginLoss(margin=margin)(scores, targets) * scores.shape[1]


def _oracle_svm_loss_grad(scores, targets, margin=1.0):
    s = scores.detach().clone().requires_grad_()
    loss = torch.nn.MultiMarginLoss(margin=margin)(s, targets) * scores.shape[1]
    (g,) = torch.autograd.grad(loss, s)
    return g


def _oracle_bce(logits, targets):
    import torch.nn.functional as F

    return F.binary_cross_entropy_with_logits(logits, targets)


def _oracle_bce_grad(logits, targets):
    import torch.nn.functional as F

    z = logits.detach().clone().requires_grad_()
    (g,) = torch.autograd.grad(F.binary_cross_entropy_with_logits(z, targets), z)
    return g


# --------------------------------------------------------------------------- cases


def _svm_cases(grad: bool):
    kink = {"gradcheck": False} if grad else {}
    return (
        Case("small", _svm(4, 5), points=2.0, description="N=4, C=5, standard normal scores"),
        Case("margins_exactly_0", _svm(6, 4, ints=4), points=2.0, **kink,
             description="integer scores 0..3: many margins s_j - s_y + 1 are exactly 0 (inactive)"),
        Case("margin_0.5", _svm(5, 4, scale=0.5, margin=0.5), description="margin=0.5 (keyword)"),
        Case("margin_2_positional", _svm(3, 6, scale=2.0, margin=2.0, margin_kw=False),
             description="margin 2.0 passed positionally"),
        Case("batch1", _svm(1, 7), description="N=1, C=7"),
        Case("all_inactive", _svm(4, 3, inactive=True), description="correct scores 20 above: loss 0, gradient 0"),
        Case("large_1e4", _svm(5, 6, scale=1e4), description="scores ~ N(0, 1e4^2)"),
        Case("hidden_many_classes", _svm(8, 50, scale=0.3), hidden=True, points=2.0, description="N=8, C=50"),
        Case("hidden_half_steps", _svm(7, 5, ints=5, step=0.5, margin=0.5), hidden=True, **kink,
             description="scores multiples of 0.5, margin 0.5: margins of exactly 0"),
    )


def _bce_cases():
    return (
        Case("hard_targets", _bce((4, 5), scale=3.0, soft=False), points=2.0,
             description="(4, 5) logits ~ N(0, 9), targets 0 or 1"),
        Case("soft_targets", _bce((3, 6), scale=2.0), points=2.0, description="targets uniform in [0, 1)"),
        Case("extremes_1e4", _bce_extremes, points=2.0,
             description="z = +-1e4, +-1000, +-100, +-40 with hard and soft targets"),
        Case("vector_1d", _bce((9,)), description="1-D logits"),
        Case("batch_3d", _bce((2, 3, 4), scale=4.0), description="3-D logits"),
        Case("hidden_mixed_1e4", _bce_mixed_1e4, hidden=True, points=2.0,
             description="z ~ N(0, 1e4^2), soft targets"),
        Case("hidden_scalar", _bce((), scale=5.0), hidden=True, description="0-d logits and target"),
    )


ASSIGNMENT = Assignment(
    id="losses",
    position=10,
    title="Multiclass SVM loss and binary cross-entropy with logits",
    banned=(
        "torch.nn",  # torch.nn.functional.* and every torch.nn module (MultiMarginLoss, BCEWithLogitsLoss, ...)
        "torch.sigmoid",
        "torch.sigmoid_",
        "torch.Tensor.sigmoid",
        "torch.Tensor.sigmoid_",
        "torch.special.expit",
        "torch.logsigmoid",
        "torch.log_sigmoid",
        "torch.binary_cross_entropy_with_logits",
        "torch.binary_cross_entropy",
        "torch._C._nn",  # the C functions behind torch.nn.functional (log_sigmoid, ...)
        "scipy.special.expit",
        "scipy.special.log_expit",
        "sklearn.metrics.log_loss",
        "sklearn.metrics.hinge_loss",
        "torchmetrics",
        "jax.nn",
        "tensorflow.nn",
        "keras.losses",
        "keras.ops",
        *AUTODIFF,
    ),
    banned_ops=(
        "aten::sigmoid",
        "aten::sigmoid_",
        "aten::sigmoid_backward",
        "aten::log_sigmoid_forward",
        "aten::log_sigmoid_backward",
        "aten::softplus",
        "aten::binary_cross_entropy",
        "aten::binary_cross_entropy_backward",
        "aten::binary_cross_entropy_with_logits",
        "aten::multi_margin_loss",
        "aten::multi_margin_loss_backward",
    ),
    functions=(
        Function(
            name="svm_loss",
            cases=_svm_cases(False),
            oracle=_oracle_svm_loss,
            mistakes=(
                Mistake(
                    "svm_counts_correct_class",
                    "Your loss is too large by `margin` per example: the sum includes j == y, whose term "
                    "max(0, s_y - s_y + margin) = margin. Sum over j != y only (zero the correct class's "
                    "margin before summing).",
                    _svm_counts_correct_class,
                    "correct class counted in the sum",
                ),
                Mistake(
                    "svm_margin_sign",
                    "Your margins are s_j - (s_y + margin): the margin has the wrong sign. A class j costs "
                    "something as soon as it comes within `margin` of the correct score: "
                    "max(0, s_j - s_y + margin).",
                    _svm_margin_sign,
                    "margin with the wrong sign",
                ),
            ),
        ),
        Function(
            name="svm_loss_grad",
            cases=_svm_cases(True),
            oracle=_oracle_svm_loss_grad,
            # step 1e-4: the loss is piecewise linear (exact differences away from the kinks) and reaches
            # ~1e5 on the 1e4 case, where a 1e-6 step leaves only ~5 digits after cancellation
            gradcheck=GradCheck(inputs=lambda c: c, wrt={0: ()}, forward="svm_loss", step=1e-4),
            mistakes=(
                Mistake(
                    "svm_grad_counts_correct_class",
                    "On the correct class your gradient is -(active + 1)/N: the correct class's own margin "
                    "(always equal to `margin` > 0) was counted as active. Zero it before counting "
                    "(margins[range(N), y] = 0).",
                    _svm_grad_counts_correct_class,
                    "correct class counted as an active margin",
                ),
                Mistake(
                    "svm_grad_missing_correct_class",
                    "Your gradient is 0 on the correct class. Every active margin s_j - s_y + margin also "
                    "depends on s_y: dL/ds_y = -(number of active margins in the row) / N.",
                    _svm_grad_missing_correct_class,
                    "no gradient on the correct class",
                ),
                Mistake(
                    "svm_grad_margin_zero_active",
                    "You counted margins of exactly 0 as active (>= 0). max(0, m) is flat at m = 0 from the "
                    "left; the convention (the contract's, and torch's) is that m = 0 is inactive: use > 0.",
                    _svm_grad_margin_zero_active,
                    "margin of exactly 0 counted as active",
                ),
                Mistake(
                    "svm_grad_not_divided_by_n",
                    "Your gradient is N times too large: the loss is a mean over the batch, so every entry "
                    "of the gradient is divided by N.",
                    _svm_grad_not_divided_by_n,
                    "gradient not divided by N",
                ),
            ),
        ),
        Function(
            name="binary_cross_entropy_with_logits",
            cases=_bce_cases(),
            oracle=_oracle_bce,
            mistakes=(
                Mistake(
                    "bce_unstable_log_sigmoid",
                    "Your loss is inf or NaN for large |z|: sigmoid(1e4) rounds to exactly 1, so "
                    "log(1 - sigmoid(z)) = log(0) = -inf (and 0 * -inf = NaN). Never take the log of a "
                    "sigmoid: use the equivalent stable form max(z, 0) - z*t + log1p(exp(-|z|)).",
                    _bce_unstable_log_sigmoid,
                    "log of a sigmoid (unstable)",
                ),
                Mistake(
                    "bce_sum_not_mean",
                    "Your loss is the SUM over the elements; it is their mean (divide by logits.numel()).",
                    _bce_sum_not_mean,
                    "sum instead of mean",
                ),
            ),
        ),
        Function(
            name="binary_cross_entropy_with_logits_grad",
            cases=_bce_cases(),
            oracle=_oracle_bce_grad,
            # step 1e-4: the loss is smooth (truncation error ~1e-9) and large at |z| = 1e4 (rounding error
            # ~1e-12 / step)
            gradcheck=GradCheck(inputs=lambda c: c, wrt={0: ()}, forward="binary_cross_entropy_with_logits",
                                step=1e-4),
            mistakes=(
                Mistake(
                    "bce_grad_not_divided",
                    "Your gradient is numel times too large: the loss is a mean over every element, so "
                    "dL/dz = (sigmoid(z) - t) / logits.numel().",
                    _bce_grad_not_divided,
                    "gradient not divided by numel",
                ),
                Mistake(
                    "bce_grad_wrong_sign",
                    "Your gradient has the wrong sign: dL/dz = (sigmoid(z) - t) / numel, not (t - sigmoid(z)). "
                    "Raising z when t = 1 must lower the loss.",
                    _bce_grad_wrong_sign,
                    "t - sigmoid(z)",
                ),
                Mistake(
                    "bce_grad_sigmoid_overflow",
                    "Your gradient is NaN for large z: exp(z)/(1 + exp(z)) is inf/inf. Compute the sigmoid "
                    "without exponentiating a large positive number: 1/(1 + exp(-z)) for z >= 0 and "
                    "exp(z)/(1 + exp(z)) for z < 0.",
                    _bce_grad_sigmoid_overflow,
                    "sigmoid computed as exp(z)/(1+exp(z))",
                ),
            ),
        ),
    ),
)
