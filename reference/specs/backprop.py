"""Grading spec for the ``backprop`` assignment (a two-layer network by hand).

Cases stress exact zeros at the ReLU (its gradient there must be 0), a batch
of one, non-square and square (D == M) layers (a transposed dW or a missing
``.T`` only keeps the right shape when the layer is square), and scores large
enough to overflow an unshifted softmax.  Mistake variants are written out
here (the spec never imports the reference).
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
    with_zeros as _with_zeros,
    AUTODIFF,
)

# --------------------------------------------------------------------------- helpers


def _affine(n, d, m, *, scale=1.0, zeros_in_grad=False):
    def make(g, dt):
        grad_out = randn(g, (n, m), dt, scale=scale)
        if zeros_in_grad:
            grad_out = _with_zeros(g, grad_out)
        return call(grad_out, randn(g, (n, d), dt, scale=scale), randn(g, (d, m), dt))

    return make


def _relu(shape, *, scale=1.0, frac=0.3):
    def make(g, dt):
        return call(randn(g, shape, dt, scale=scale), _with_zeros(g, randn(g, shape, dt, scale=scale), frac))

    return make


def _mlp(n, d, h, c, *, x_scale=1.0, w2_scale=0.5, zero_rows=(), zero_w1_cols=(), b1_zero_frac=0.0):
    """Inputs of mlp_loss_and_grads.  ``zero_rows`` of x, ``zero_w1_cols`` of W1 and a
    fraction of b1 are exactly 0, so that some pre-activations x @ W1 + b1 are exactly 0."""

    def make(g, dt):
        x = randn(g, (n, d), dt, scale=x_scale)
        if zero_rows:
            x[list(zero_rows)] = 0.0
        y = randint(g, 0, c, (n,))
        W1 = randn(g, (d, h), dt, scale=0.7)
        if zero_w1_cols:
            W1[:, list(zero_w1_cols)] = 0.0
        b1 = randn(g, (h,), dt, scale=0.3)
        if b1_zero_frac:
            b1 = torch.where(rand(g, (h,), torch.float64) < b1_zero_frac, torch.zeros((), dtype=b1.dtype), b1)
        W2 = randn(g, (h, c), dt, scale=w2_scale)
        b2 = randn(g, (c,), dt, scale=0.3)
        return call(x, y, W1, b1, W2, b2)

    return make


# --------------------------------------------------------------------------- mistakes


def _affine_db_mean(grad_out, x, W):
    return grad_out @ W.T, x.T @ grad_out, grad_out.mean(0)


def _affine_dw_transposed(grad_out, x, W):
    return grad_out @ W.T, (x.T @ grad_out).T, grad_out.sum(0)


def _affine_dx_not_transposed(grad_out, x, W):
    if W.shape[0] != W.shape[1]:
        return None  # grad_out @ W is a shape error unless W is square
    return grad_out @ W, x.T @ grad_out, grad_out.sum(0)


def _relu_grad_at_zero(grad_out, x):
    return grad_out * (x >= 0).to(grad_out.dtype)


def _relu_mask_on_grad(grad_out, x):
    return torch.where(grad_out > 0, grad_out, torch.zeros_like(grad_out))


def _relu_grad_not_chained(grad_out, x):
    return (x > 0).to(grad_out.dtype)


def _mlp_core(x, y, W1, b1, W2, b2, *, shift=True, relu_ge=False, loss_sum=False, grad_scale_n=False):
    n = x.shape[0]
    z1 = x @ W1 + b1
    h = z1 * (z1 > 0).to(z1.dtype)
    scores = h @ W2 + b2
    if shift:
        scores = scores - scores.amax(1, keepdim=True)
    e = torch.exp(scores)
    p = e / e.sum(1, keepdim=True)
    per = torch.log(e.sum(1)) - scores[torch.arange(n), y]
    loss = per.sum() if loss_sum else per.mean()
    d = p.clone()
    d[torch.arange(n), y] -= 1
    if not grad_scale_n:
        d = d / n
    dW2 = h.T @ d
    db2 = d.sum(0)
    dh = d @ W2.T
    mask = (z1 >= 0) if relu_ge else (z1 > 0)
    dz1 = dh * mask.to(dh.dtype)
    return loss, {"W1": x.T @ dz1, "b1": dz1.sum(0), "W2": dW2, "b2": db2}


def _mlp_grad_not_divided_by_n(x, y, W1, b1, W2, b2):
    return _mlp_core(x, y, W1, b1, W2, b2, grad_scale_n=True)


def _mlp_loss_sum_not_mean(x, y, W1, b1, W2, b2):
    return _mlp_core(x, y, W1, b1, W2, b2, loss_sum=True)


def _mlp_relu_grad_at_zero(x, y, W1, b1, W2, b2):
    return _mlp_core(x, y, W1, b1, W2, b2, relu_ge=True)


def _mlp_no_logsumexp_shift(x, y, W1, b1, W2, b2):
    return _mlp_core(x, y, W1, b1, W2, b2, shift=False)


# --------------------------------------------------------------------------- oracles and gradient checks


def _oracle_affine_backward(grad_out, x, W):
    xl, Wl = x.detach().clone().requires_grad_(), W.detach().clone().requires_grad_()
    bl = torch.zeros(W.shape[1], dtype=W.dtype, requires_grad=True)
    return torch.autograd.grad(xl @ Wl + bl, (xl, Wl, bl), grad_out)


def _oracle_relu_backward(grad_out, x):
    xl = x.detach().clone().requires_grad_()
    (g,) = torch.autograd.grad(torch.relu(xl), xl, grad_out)  # torch: gradient 0 at x == 0
    return g


def _oracle_mlp_loss_and_grads(x, y, W1, b1, W2, b2):
    import torch.nn.functional as F

    params = [t.detach().clone().requires_grad_() for t in (W1, b1, W2, b2)]
    w1, c1, w2, c2 = params
    loss = F.cross_entropy(torch.relu(x @ w1 + c1) @ w2 + c2, y)
    grads = torch.autograd.grad(loss, params)
    return loss.detach(), dict(zip(("W1", "b1", "W2", "b2"), grads))


def _affine_forward(x, W, b):
    return x @ W + b


def _relu_forward(x):
    return torch.where(x > 0, x, torch.zeros_like(x))


_AFFINE_GRADCHECK = GradCheck(
    inputs=lambda c: call(c.args[1], c.args[2], torch.zeros(c.args[2].shape[1], dtype=c.args[2].dtype)),
    wrt={0: (0,), 1: (1,), 2: (2,)},
    trusted=_affine_forward,
    upstream=lambda c: c.args[0],
)

_RELU_GRADCHECK = GradCheck(
    inputs=lambda c: call(c.args[1]),
    wrt={0: ()},
    trusted=_relu_forward,
    upstream=lambda c: c.args[0],
)

_MLP_GRADCHECK = GradCheck(
    inputs=lambda c: c,
    wrt={2: (1, "W1"), 3: (1, "b1"), 4: (1, "W2"), 5: (1, "b2")},
    forward="mlp_loss_and_grads",
    output=(0,),
)


# --------------------------------------------------------------------------- spec

ASSIGNMENT = Assignment(
    id="backprop",
    position=3,
    title="A two-layer network, backpropagated by hand",
    banned=(
        "torch.nn.functional",
        "torch._C._nn",  # the C functions behind torch.nn.functional
        *AUTODIFF,
    ),
    banned_ops=(
        # what autograd would run for the network's backward pass
        "aten::threshold_backward",
        "aten::_log_softmax_backward_data",
        "aten::_softmax_backward_data",
        "aten::nll_loss_forward",
        "aten::nll_loss_backward",
    ),
    functions=(
        Function(
            name="affine_backward",
            oracle=_oracle_affine_backward,
            gradcheck=_AFFINE_GRADCHECK,
            cases=(
                Case("small", _affine(4, 3, 5), description="N=4, D=3, M=5"),
                Case("square", _affine(3, 4, 4), points=2.0, description="D == M = 4, N=3"),
                Case("batch1", _affine(1, 3, 2), description="N=1, D=3, M=2"),
                Case("tall_with_zeros", _affine(6, 2, 3, zeros_in_grad=True),
                     description="N=6, D=2, M=3, exact zeros in grad_out"),
                Case("large_square", _affine(5, 5, 5, scale=100.0),
                     description="N = D = M = 5, values ~100"),
                Case("hidden_square", _affine(5, 3, 3), hidden=True, description="D == M = 3, N=5"),
                Case("hidden_wide", _affine(7, 6, 4, zeros_in_grad=True), hidden=True,
                     description="N=7, D=6, M=4"),
            ),
            mistakes=(
                Mistake(
                    "affine_db_mean",
                    "Your db is the mean of grad_out over the batch. out = x @ W + b adds b to every "
                    "row, so every row's gradient flows into b: db = grad_out.sum(0).",
                    _affine_db_mean,
                    "db averaged instead of summed",
                ),
                Mistake(
                    "affine_dw_transposed",
                    "Your dW is transposed: you computed grad_out.T @ x (shape (M, D)), which only has "
                    "W's shape when D == M. dW[d, m] = sum_n x[n, d] * grad_out[n, m], i.e. "
                    "dW = x.T @ grad_out. Check: dW must have W's shape (D, M).",
                    _affine_dw_transposed,
                    "dW = grad_out.T @ x",
                ),
                Mistake(
                    "affine_dx_not_transposed",
                    "Your dx uses W instead of W.T: out = x @ W, so dx = grad_out @ W.T "
                    "((N, M) @ (M, D) -> (N, D)). grad_out @ W only runs when W is square, and is wrong "
                    "there too.",
                    _affine_dx_not_transposed,
                    "dx = grad_out @ W",
                ),
            ),
        ),
        Function(
            name="relu_backward",
            oracle=_oracle_relu_backward,
            gradcheck=_RELU_GRADCHECK,
            # cases with exact zeros in x sit on relu's kink: no gradient check there
            cases=(
                Case("with_zeros", _relu((4, 5)), points=2.0, gradcheck=False,
                     description="x with exact zeros (and -0.0)"),
                Case("vector_1d", _relu((8,)), gradcheck=False, description="1-D, with zeros"),
                Case("batch_3d", _relu((2, 3, 4)), gradcheck=False, description="3-D, with zeros"),
                Case("batch1", _relu((1, 6), frac=0.4), gradcheck=False, description="one row, with zeros"),
                Case("no_zeros", lambda g, dt: call(randn(g, (4, 6), dt), randn(g, (4, 6), dt, scale=2.0)),
                     description="4x6, no exact zeros"),
                Case("hidden_all_zero_x",
                     lambda g, dt: call(randn(g, (3, 4), dt), torch.zeros((3, 4), dtype=_dt(dt))),
                     hidden=True, gradcheck=False, description="x == 0 everywhere: the gradient is all 0"),
                Case("hidden_large", _relu((5, 6), scale=1e4), points=2.0, hidden=True, gradcheck=False,
                     description="values ~1e4, with zeros"),
            ),
            mistakes=(
                Mistake(
                    "relu_grad_at_zero",
                    "Your ReLU gradient passes grad_out through where x == 0 (you used x >= 0). relu is "
                    "flat for x <= 0 and the convention (torch's) is gradient 0 at x == 0: use x > 0.",
                    _relu_grad_at_zero,
                    "mask x >= 0 instead of x > 0",
                ),
                Mistake(
                    "relu_mask_on_grad",
                    "You masked with the sign of grad_out. The mask comes from the forward input: "
                    "dx = grad_out where x > 0, else 0.",
                    _relu_mask_on_grad,
                    "mask on grad_out instead of x",
                ),
                Mistake(
                    "relu_grad_not_chained",
                    "You returned relu's local derivative (x > 0) without multiplying by grad_out. By the "
                    "chain rule dx = grad_out * (x > 0).",
                    _relu_grad_not_chained,
                    "local derivative only",
                ),
            ),
        ),
        Function(
            name="mlp_loss_and_grads",
            oracle=_oracle_mlp_loss_and_grads,
            gradcheck=_MLP_GRADCHECK,
            cases=(
                Case("small", _mlp(4, 3, 5, 3), description="N=4, D=3, H=5, C=3"),
                Case("batch1", _mlp(1, 4, 6, 3), description="N=1"),
                Case("zero_preacts", _mlp(5, 3, 4, 3, zero_rows=(0, 3), zero_w1_cols=(1,), b1_zero_frac=1.0),
                     points=2.0, gradcheck=False,  # pre-activations on relu's kink
                     description="b1 = 0, zero rows of x and a zero column of W1: pre-activations exactly 0"),
                Case("nonsquare", _mlp(6, 7, 3, 4), description="N=6, D=7, H=3, C=4"),
                Case("large_scores", _mlp(4, 3, 5, 4, x_scale=3.0, w2_scale=1e3), points=2.0,
                     description="scores ~1e3-1e4 (softmax must be shifted)"),
                Case("hidden_zero_preacts", _mlp(6, 4, 5, 3, zero_rows=(1, 2, 5), zero_w1_cols=(0, 3),
                                                 b1_zero_frac=0.6),
                     points=2.0, hidden=True, gradcheck=False, description="exact-zero pre-activations"),
                Case("hidden_batch16", _mlp(16, 5, 8, 4), hidden=True, description="N=16, D=5, H=8, C=4"),
            ),
            mistakes=(
                Mistake(
                    "mlp_grad_not_divided_by_n",
                    "Your gradients are N times too large (the loss is right). The loss is a mean over "
                    "the batch, so dscores = (softmax(scores) - onehot(y)) / N; every other gradient "
                    "follows from dscores.",
                    _mlp_grad_not_divided_by_n,
                    "gradients not divided by N",
                ),
                Mistake(
                    "mlp_loss_sum_not_mean",
                    "Your loss is N times too large: it sums the per-example cross-entropies. Return "
                    "the mean over the batch.",
                    _mlp_loss_sum_not_mean,
                    "loss summed over the batch",
                ),
                Mistake(
                    "mlp_relu_grad_at_zero",
                    "Your backward pass lets the gradient through the ReLU where the pre-activation "
                    "x @ W1 + b1 is exactly 0 (mask >= 0). Use the mask z1 > 0: relu's gradient at 0 is 0.",
                    _mlp_relu_grad_at_zero,
                    "ReLU mask >= 0 in the backward pass",
                ),
                Mistake(
                    "mlp_no_logsumexp_shift",
                    "Your loss/gradients are inf or NaN when the scores are large: exp(scores) overflows. "
                    "Subtract each row's max score before exp() (log-sum-exp trick).",
                    _mlp_no_logsumexp_shift,
                    "softmax/cross-entropy without the max shift",
                ),
            ),
        ),
    ),
)
