"""Grading spec for the ``layers`` assignment (ASSIGNMENTS.md, section 8).

Cases stress what hand-written layers get wrong: stride > 1 with an output
size that does not divide evenly, padding > 0, non-square inputs and kernels,
a kernel as large as the input, 1x1 kernels, a batch of one and a single
channel; overlapping pooling windows and exact ties inside a window (the
contract: ties go to the first maximum in row-major order); dropout at
p = 0, p = 0.9 and at inference.  ``dropout_forward`` draws random numbers:
its training cases are graded by properties (output = x * mask / (1 - p),
fraction kept, two calls independent), never by one exact draw.

Mistake variants are written out here (the spec never imports the reference).
"""

from __future__ import annotations

import torch

from grader.spec import (
    Assignment,
    BernoulliRate,
    Case,
    Function,
    GradCheck,
    Independent,
    MaskedScale,
    Mistake,
    call,
    rand,
    randint,
    randn,
    as_dtype as _dt,
    tensor as _tensor,
    AUTODIFF,
)

# --------------------------------------------------------------------------- helpers


def _arg(c, i: int, name: str, default=None):
    """Argument ``i`` / ``name`` of a Call (positional or keyword)."""
    if len(c.args) > i:
        return c.args[i]
    return c.kwargs.get(name, default)


def _size(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def _conv_make(N, C, H, W, F, KH, KW, *, stride=None, padding=None, kw=False, backward=False, scale=1.0):
    """Inputs of conv2d_forward (x, W, b, ...) or conv2d_backward (grad_out, x, W, ...).

    ``stride``/``padding`` None are left at their defaults; ``kw`` passes them by keyword.
    """
    s, p = stride or 1, padding or 0

    def make(g, dt):
        x = randn(g, (N, C, H, W), dt, scale=scale)
        Wt = randn(g, (F, C, KH, KW), dt, scale=0.5)
        extra_args, extra_kw = [], {}
        if stride is not None or padding is not None:
            if kw:
                if stride is not None:
                    extra_kw["stride"] = stride
                if padding is not None:
                    extra_kw["padding"] = padding
            else:
                extra_args = [s, p]
        if backward:
            go = randn(g, (N, F, _size(H, KH, s, p), _size(W, KW, s, p)), dt)
            return call(go, x, Wt, *extra_args, **extra_kw)
        b = randn(g, (F,), dt, scale=0.5)
        return call(x, Wt, b, *extra_args, **extra_kw)

    return make


def _ties(g, shape, dt, levels=3):
    """A tensor of small integers 0..levels-1 (many exact ties inside every window)."""
    return randint(g, 0, levels, shape).to(_dt(dt))


def _pool_make(shape, k, s, *, backward=False, ties=False, scale=1.0):
    N, C, H, W = shape

    def make(g, dt):
        x = _ties(g, shape, dt) if ties else randn(g, shape, dt, scale=scale)
        if backward:
            go = randn(g, (N, C, _size(H, k, s, 0), _size(W, k, s, 0)), dt)
            return call(go, x, k, s)
        return call(x, k, s)

    return make


# --------------------------------------------------------------------------- mistake variants
# A minimal convolution / pooling of their own, so that each variant is a full implementation.


def _pad_both(x, p):
    if p == 0:
        return x
    N, C, H, W = x.shape
    xp = torch.zeros((N, C, H + 2 * p, W + 2 * p), dtype=x.dtype, device=x.device)
    xp[:, :, p:p + H, p:p + W] = x
    return xp


def _correlate(xp, W, b, s):
    KH, KW = W.shape[2], W.shape[3]
    cols = xp.unfold(2, KH, s).unfold(3, KW, s)  # (N, C, H', W', KH, KW)
    return torch.einsum("nchwuv,fcuv->nfhw", cols, W) + b.reshape(1, -1, 1, 1)


def _conv_flipped_kernel(x, W, b, stride=1, padding=0):
    # a true convolution: the kernel is flipped in both spatial dims
    return _correlate(_pad_both(x, padding), W.flip(2, 3), b, stride)


def _conv_padding_one_side(x, W, b, stride=1, padding=0):
    # zeros added on the top and left only
    N, C, H, Wd = x.shape
    xp = torch.zeros((N, C, H + padding, Wd + padding), dtype=x.dtype, device=x.device)
    xp[:, :, padding:, padding:] = x
    return _correlate(xp, W, b, stride)


def _conv_out_size_stride(x, W, b, stride=1, padding=0):
    # H' = (H + 2p - KH + 1) // stride: "positions divided by the stride" (drops the last window)
    out = _correlate(_pad_both(x, padding), W, b, stride)
    Ho = (x.shape[2] + 2 * padding - W.shape[2] + 1) // stride
    Wo = (x.shape[3] + 2 * padding - W.shape[3] + 1) // stride
    return out[:, :, :Ho, :Wo]


def _conv_grads(grad_out, x, W, stride, padding):
    """(dxp padded, dW, db) of a cross-correlation (vectorised, for the variants)."""
    KH, KW = W.shape[2], W.shape[3]
    xp = _pad_both(x, padding)
    cols = xp.unfold(2, KH, stride).unfold(3, KW, stride)
    dW = torch.einsum("nfhw,nchwuv->fcuv", grad_out, cols)
    db = grad_out.sum(dim=(0, 2, 3))
    dcols = torch.einsum("nfhw,fcuv->nchwuv", grad_out, W)
    Ho, Wo = grad_out.shape[2], grad_out.shape[3]
    dxp = torch.zeros(xp.shape, dtype=x.dtype, device=x.device)
    for u in range(KH):
        for v in range(KW):
            dxp[:, :, u:u + stride * (Ho - 1) + 1:stride, v:v + stride * (Wo - 1) + 1:stride] += dcols[..., u, v]
    return dxp, dW, db


def _crop(dxp, x, p):
    return dxp[:, :, p:p + x.shape[2], p:p + x.shape[3]]


def _conv_dw_batch_mean(grad_out, x, W, stride=1, padding=0):
    dxp, dW, db = _conv_grads(grad_out, x, W, stride, padding)
    return _crop(dxp, x, padding), dW / x.shape[0], db


def _conv_db_mean(grad_out, x, W, stride=1, padding=0):
    dxp, dW, _ = _conv_grads(grad_out, x, W, stride, padding)
    return _crop(dxp, x, padding), dW, grad_out.mean(dim=(0, 2, 3))


def _conv_dx_padded(grad_out, x, W, stride=1, padding=0):
    dxp, dW, db = _conv_grads(grad_out, x, W, stride, padding)
    return dxp, dW, db


def _pool_windows(x, k, s):
    w = x.unfold(2, k, s).unfold(3, k, s)  # (N, C, H', W', k, k)
    return w.reshape(*w.shape[:4], k * k)


def _pool_stride_is_kernel(x, kernel_size, stride):
    return _pool_windows(x, kernel_size, kernel_size).amax(-1)


def _fold_add(dwin, x, k, s):
    N, C, Ho, Wo = dwin.shape[:4]
    dwin = dwin.reshape(N, C, Ho, Wo, k, k)
    dx = torch.zeros(x.shape, dtype=x.dtype, device=x.device)
    for u in range(k):
        for v in range(k):
            dx[:, :, u:u + s * (Ho - 1) + 1:s, v:v + s * (Wo - 1) + 1:s] += dwin[..., u, v]
    return dx


def _pool_grad_spread(grad_out, x, kernel_size, stride):
    # the gradient of average pooling: every window element gets grad / k^2
    k = kernel_size
    dwin = (grad_out / (k * k)).unsqueeze(-1).expand(*grad_out.shape, k * k)
    return _fold_add(dwin, x, k, stride)


def _pool_grad_all_ties(grad_out, x, kernel_size, stride):
    k = kernel_size
    w = _pool_windows(x, k, stride)
    is_max = (w == w.amax(-1, keepdim=True)).to(x.dtype)
    return _fold_add(is_max * grad_out.unsqueeze(-1), x, k, stride)


def _pool_grad_overlap_overwritten(grad_out, x, kernel_size, stride):
    # dx[argmax] = g instead of +=: where windows overlap, the last window (row-major) wins
    k, s = kernel_size, stride
    N, C, H, W = x.shape
    Ho, Wo = grad_out.shape[2], grad_out.shape[3]
    dx = torch.zeros((N * C, H, W), dtype=x.dtype, device=x.device)
    xf, gf = x.reshape(N * C, H, W), grad_out.reshape(N * C, Ho, Wo)
    rows = torch.arange(N * C)
    for i in range(Ho):
        for j in range(Wo):
            win = xf[:, i * s:i * s + k, j * s:j * s + k].reshape(N * C, k * k)
            idx = win.argmax(dim=1)  # first maximum
            dx[rows, i * s + idx // k, j * s + idx % k] = gf[:, i, j]
    return dx.reshape(N, C, H, W)


def _dropout_not_inverted(x, p, training):
    if not training:
        return x.clone(), torch.ones(x.shape, dtype=torch.bool, device=x.device)
    mask = torch.rand(x.shape, dtype=torch.float64, device=x.device) >= p
    return x * mask.to(x.dtype), mask


def _dropout_scaled_at_test(x, p, training):
    if not training:
        return x * (1 - p), torch.ones(x.shape, dtype=torch.bool, device=x.device)
    mask = torch.rand(x.shape, dtype=torch.float64, device=x.device) >= p
    return x * mask.to(x.dtype) / (1 - p), mask


def _dropout_p_as_keep(x, p, training):
    if not training:
        return x.clone(), torch.ones(x.shape, dtype=torch.bool, device=x.device)
    mask = torch.rand(x.shape, dtype=torch.float64, device=x.device) < p
    return x * mask.to(x.dtype) / p, mask


def _dropout_backward_ignores_mask(grad_out, mask, p):
    return grad_out / (1 - p)


def _dropout_backward_not_scaled(grad_out, mask, p):
    return grad_out * mask.to(grad_out.dtype)


def _conv_shape_padding_one_side(h, w, kernel_size, stride=1, padding=0, dilation=1):
    return tuple((n + padding - dilation * (kernel_size - 1) - 1) // stride + 1 for n in (h, w))


def _conv_shape_positions_div_stride(h, w, kernel_size, stride=1, padding=0, dilation=1):
    return tuple((n + 2 * padding - dilation * (kernel_size - 1)) // stride for n in (h, w))


def _conv_shape_no_dilation(h, w, kernel_size, stride=1, padding=0, dilation=1):
    return tuple((n + 2 * padding - kernel_size) // stride + 1 for n in (h, w))


def _conv_params_missing_in_channels(in_channels, out_channels, kernel_size, bias=True):
    return out_channels * kernel_size * kernel_size + (out_channels if bias else 0)


def _conv_params_bias_ignored(in_channels, out_channels, kernel_size, bias=True):
    return out_channels * in_channels * kernel_size * kernel_size + out_channels


# --------------------------------------------------------------------------- oracles (tests only)


def _oracle_affine_forward(x, W, b):
    import torch.nn.functional as F

    return F.linear(x, W.T, b)


def _oracle_relu_forward(x):
    import torch.nn.functional as F

    return F.relu(x)


def _oracle_dropout_forward(x, p, training):
    import torch.nn.functional as F

    keep = F.dropout(torch.ones(x.shape, dtype=torch.float64, device=x.device), p, training)
    mask = keep != 0
    return (x * keep.to(x.dtype)), mask


def _oracle_dropout_backward(grad_out, mask, p):
    xl = torch.zeros(grad_out.shape, dtype=grad_out.dtype, device=grad_out.device, requires_grad=True)
    out = xl * mask.to(grad_out.dtype) / (1 - p)
    (dx,) = torch.autograd.grad(out, xl, grad_out)
    return dx


def _oracle_conv2d_forward(x, W, b, stride=1, padding=0):
    import torch.nn.functional as F

    return F.conv2d(x, W, b, stride=stride, padding=padding)


def _oracle_conv2d_backward(grad_out, x, W, stride=1, padding=0):
    import torch.nn.functional as F

    xl, Wl = x.detach().clone().requires_grad_(), W.detach().clone().requires_grad_()
    bl = torch.zeros(W.shape[0], dtype=W.dtype, device=W.device, requires_grad=True)
    out = F.conv2d(xl, Wl, bl, stride=stride, padding=padding)
    return torch.autograd.grad(out, (xl, Wl, bl), grad_out)


def _oracle_max_pool2d_forward(x, kernel_size, stride):
    import torch.nn.functional as F

    return F.max_pool2d(x, kernel_size, stride)


def _oracle_max_pool2d_backward(grad_out, x, kernel_size, stride):
    import torch.nn.functional as F

    xl = x.detach().clone().requires_grad_()
    (dx,) = torch.autograd.grad(F.max_pool2d(xl, kernel_size, stride), xl, grad_out)
    return dx


def _oracle_conv2d_output_shape(h, w, kernel_size, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F

    x = torch.empty((1, 1, h, w), device="meta")
    k = torch.empty((1, 1, kernel_size, kernel_size), device="meta")
    out = F.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
    return int(out.shape[2]), int(out.shape[3])


def _oracle_conv2d_num_params(in_channels, out_channels, kernel_size, bias=True):
    conv = torch.nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias, device="meta")
    return sum(p.numel() for p in conv.parameters())


# --------------------------------------------------------------------------- gradient checks


def _conv_fwd_inputs(c):
    x, W = _arg(c, 1, "x"), _arg(c, 2, "W")
    b = torch.zeros(W.shape[0], dtype=W.dtype)
    return call(x, W, b, _arg(c, 3, "stride", 1), _arg(c, 4, "padding", 0))


_CONV_GRADCHECK = GradCheck(
    inputs=_conv_fwd_inputs,
    wrt={0: (0,), 1: (1,), 2: (2,)},
    forward="conv2d_forward",
    upstream=lambda c: _arg(c, 0, "grad_out"),
)

_POOL_GRADCHECK = GradCheck(
    inputs=lambda c: call(_arg(c, 1, "x"), _arg(c, 2, "kernel_size"), _arg(c, 3, "stride")),
    wrt={0: ()},
    forward="max_pool2d_forward",
    upstream=lambda c: _arg(c, 0, "grad_out"),
)


def _dropout_train(x, mask, p):
    return x * mask.to(x.dtype) / (1 - p)


_DROPOUT_GRADCHECK = GradCheck(
    # the forward at training time with the given mask (the student's own forward draws a new mask)
    inputs=lambda c: call(torch.zeros_like(_arg(c, 0, "grad_out")), _arg(c, 1, "mask"), _arg(c, 2, "p")),
    wrt={0: ()},
    trusted=_dropout_train,
    upstream=lambda c: _arg(c, 0, "grad_out"),
)

# --------------------------------------------------------------------------- cases


def _affine_make(n, d, m, scale=1.0):
    def make(g, dt):
        return call(randn(g, (n, d), dt, scale=scale), randn(g, (d, m), dt), randn(g, (m,), dt))

    return make


_AFFINE_CASES = (
    Case("small", _affine_make(4, 3, 5), points=2.0, description="N=4, D=3, M=5"),
    Case("batch1", _affine_make(1, 6, 2), description="N=1, D=6, M=2"),
    Case("square", _affine_make(5, 4, 4), description="D == M = 4"),
    Case("hidden_large", _affine_make(6, 5, 3, scale=1e4), hidden=True, description="x ~ 1e4"),
)

_RELU_CASES = (
    Case("with_zeros", lambda g, dt: call(torch.cat([_tensor([0.0, -0.0, 1e-30, -1e-30], dt),
                                                   randn(g, (12,), dt)]).reshape(4, 4)),
         points=2.0, description="4x4 with exact 0, -0.0 and +-1e-30"),
    Case("batch_4d", lambda g, dt: call(randn(g, (2, 3, 4, 5), dt, scale=3.0)), description="(2, 3, 4, 5)"),
    Case("vector_1d", lambda g, dt: call(randn(g, (9,), dt)), description="1-D"),
    Case("hidden_large", lambda g, dt: call(randn(g, (5, 7), dt, scale=1e4)), hidden=True,
         description="values ~1e4"),
)


def _dropout_props(c):
    p = float(_arg(c, 1, "p"))
    return (
        MaskedScale(scale=1.0 / (1.0 - p)),
        BernoulliRate(p=1.0 - p, at=(1,), label="kept"),
        Independent(at=(1,)),
    )


_ALPHA = "false-failure rate 2e-7 (binomial 1e-7 + independence 1e-7)"

_DROPOUT_CASES = (
    Case("train_p0.5", lambda g, dt: call(randn(g, (100, 1000), dt), 0.5, True), points=2.0,
         properties=_dropout_props, repeats=2,
         description=f"training, p = 0.5, 100,000 entries; {_ALPHA}"),
    Case("train_p0.9", lambda g, dt: call(randn(g, (50, 40, 50), dt), 0.9, True), points=2.0,
         properties=_dropout_props, repeats=2,
         description=f"training, p = 0.9 (keep 10%), 100,000 entries; {_ALPHA}"),
    Case("train_p0.2", lambda g, dt: call(randn(g, (400, 250), dt), 0.2, True),
         properties=_dropout_props, repeats=2,
         description=f"training, p = 0.2 (keep 80%), 100,000 entries; {_ALPHA}"),
    Case("train_p0", lambda g, dt: call(randn(g, (4, 6), dt), 0.0, True),
         description="training with p = 0: everything kept, out = x, mask all True "
                     "(compared exactly; a mask drawn as rand() > p misses with probability 1.4e-6)"),
    Case("eval", lambda g, dt: call(randn(g, (6, 5), dt), 0.5, False), points=2.0,
         description="training=False, p = 0.5: out = x exactly, mask all True"),
    Case("eval_p0.9_4d", lambda g, dt: call(randn(g, (2, 3, 4, 5), dt), 0.9, False),
         description="training=False, p = 0.9, 4-D"),
    Case("hidden_train_p0.3_4d", lambda g, dt: call(randn(g, (10, 10, 25, 40), dt, scale=3.0), 0.3, True),
         hidden=True, properties=_dropout_props, repeats=2,
         description=f"training, p = 0.3, 4-D, 100,000 entries; {_ALPHA}"),
    Case("hidden_eval_p0.2", lambda g, dt: call(randn(g, (7, 3), dt), 0.2, False), hidden=True,
         description="training=False, p = 0.2"),
)


def _dropout_bw_make(shape, p, keep=None):
    def make(g, dt):
        go = randn(g, shape, dt)
        k = 1.0 - p if keep is None else keep
        mask = rand(g, shape, torch.float64) < k
        return call(go, mask, p)

    return make


_DROPOUT_BW_CASES = (
    Case("p0.5", _dropout_bw_make((6, 8), 0.5), points=2.0, description="p = 0.5, (6, 8)"),
    Case("p0.9", _dropout_bw_make((5, 4, 3), 0.9), description="p = 0.9, 3-D"),
    Case("p0_all_kept", _dropout_bw_make((4, 5), 0.0), description="p = 0, mask all True"),
    Case("hidden_p0.25_4d", _dropout_bw_make((2, 3, 4, 4), 0.25), hidden=True, description="p = 0.25, 4-D"),
)

_CONV_CASES = (
    Case("basic", _conv_make(2, 3, 5, 5, 4, 3, 3), points=2.0,
         description="x (2, 3, 5, 5), W (4, 3, 3, 3), stride 1, no padding (defaults)"),
    Case("padding1", _conv_make(2, 2, 5, 6, 3, 3, 3, stride=1, padding=1), points=2.0,
         description="padding 1 (output the size of the input)"),
    Case("stride2_pad1", _conv_make(2, 3, 8, 8, 4, 3, 3, stride=2, padding=1, kw=True), points=2.0,
         description="stride 2, padding 1 (keywords): 8x8 -> 4x4"),
    Case("nonsquare_stride2", _conv_make(2, 2, 6, 9, 3, 2, 4, stride=2, padding=0), points=2.0,
         description="x 6x9, kernel 2x4, stride 2 (the last column does not fit)"),
    Case("kernel_equals_input", _conv_make(3, 2, 4, 5, 2, 4, 5),
         description="kernel as large as the input: 1x1 output"),
    Case("kernel_1x1_stride2", _conv_make(2, 3, 5, 6, 5, 1, 1, stride=2, padding=0),
         description="1x1 kernel, stride 2"),
    Case("batch1_channel1", _conv_make(1, 1, 6, 5, 2, 3, 2, stride=1, padding=2),
         description="N = 1, C = 1, padding 2, kernel 3x2"),
    Case("hidden_stride2_pad3", _conv_make(2, 2, 9, 8, 3, 5, 5, stride=2, padding=3, kw=True), points=2.0,
         hidden=True, description="9x8 input, 5x5 kernel, stride 2, padding 3"),
    Case("hidden_stride3", _conv_make(1, 2, 8, 10, 2, 3, 2, stride=3), hidden=True,
         description="stride 3, no padding, non-square"),
    Case("hidden_large", _conv_make(2, 3, 6, 6, 2, 3, 3, stride=2, padding=1, scale=1e4), hidden=True,
         description="x ~ 1e4, stride 2, padding 1"),
)

_CONV_BW_CASES = (
    Case("basic", _conv_make(2, 3, 5, 5, 4, 3, 3, backward=True), points=2.0,
         description="x (2, 3, 5, 5), W (4, 3, 3, 3), stride 1, no padding (defaults)"),
    Case("padding1", _conv_make(2, 2, 5, 6, 3, 3, 3, stride=1, padding=1, backward=True), points=2.0,
         description="padding 1"),
    Case("stride2_pad1", _conv_make(3, 3, 7, 7, 4, 3, 3, stride=2, padding=1, kw=True, backward=True), points=2.0,
         description="stride 2, padding 1 (keywords), overlapping windows"),
    Case("nonsquare_stride2", _conv_make(2, 2, 6, 9, 3, 2, 4, stride=2, padding=0, backward=True), points=2.0,
         description="x 6x9, kernel 2x4, stride 2: the last column gets no gradient"),
    Case("kernel_equals_input", _conv_make(3, 2, 4, 5, 2, 4, 5, backward=True),
         description="kernel as large as the input"),
    Case("kernel_1x1_stride2", _conv_make(2, 3, 5, 6, 5, 1, 1, stride=2, padding=0, backward=True),
         description="1x1 kernel, stride 2: every other row and column gets no gradient"),
    Case("batch1_channel1", _conv_make(1, 1, 6, 5, 2, 3, 2, stride=1, padding=2, backward=True),
         description="N = 1, C = 1, padding 2"),
    Case("hidden_stride3_pad2", _conv_make(2, 2, 8, 7, 3, 3, 2, stride=3, padding=2, kw=True, backward=True),
         points=2.0, hidden=True, description="stride 3, padding 2, non-square"),
    Case("hidden_batch4", _conv_make(4, 2, 5, 5, 3, 2, 2, stride=1, padding=1, backward=True), hidden=True,
         description="N = 4, kernel 2x2, padding 1"),
)

_POOL_CASES = (
    Case("k2_s2", _pool_make((2, 3, 4, 6), 2, 2), points=2.0, description="2x2 windows, stride 2 (no overlap)"),
    Case("k3_s1_overlap", _pool_make((2, 2, 5, 6), 3, 1), points=2.0, description="3x3 windows, stride 1 (overlap)"),
    Case("k3_s2_nonsquare", _pool_make((1, 3, 7, 5), 3, 2), description="3x3, stride 2, 7x5 input"),
    Case("k2_s2_odd", _pool_make((2, 1, 5, 7), 2, 2), description="odd sizes: the last row/column is dropped"),
    Case("kernel_equals_input", _pool_make((3, 2, 4, 4), 4, 1), description="window = the whole 4x4 input"),
    Case("ties", _pool_make((2, 2, 6, 6), 2, 1, ties=True), description="values in {0, 1, 2}: ties everywhere"),
    Case("hidden_k2_s1_large", _pool_make((2, 2, 5, 4), 2, 1, scale=1e4), hidden=True, points=2.0,
         description="2x2 windows, stride 1, values ~1e4"),
)

_POOL_BW_CASES = (
    Case("k2_s2", _pool_make((2, 3, 4, 6), 2, 2, backward=True), points=2.0,
         description="2x2 windows, stride 2 (no overlap)"),
    Case("k3_s1_overlap", _pool_make((2, 2, 5, 6), 3, 1, backward=True), points=2.0,
         description="3x3 windows, stride 1: overlapping windows add up"),
    Case("k3_s2_nonsquare", _pool_make((1, 3, 7, 5), 3, 2, backward=True),
         description="3x3, stride 2 (overlap 1), 7x5 input"),
    Case("k2_s2_odd", _pool_make((2, 1, 5, 7), 2, 2, backward=True),
         description="odd sizes: the dropped row/column gets no gradient"),
    Case("ties_k2_s2", _pool_make((2, 2, 6, 6), 2, 2, backward=True, ties=True), points=2.0, gradcheck=False,
         description="values in {0, 1, 2}: ties go to the first maximum (row-major)"),
    Case("ties_k3_s1_overlap", _pool_make((1, 2, 6, 5), 3, 1, backward=True, ties=True), points=2.0,
         gradcheck=False, description="ties and overlapping windows"),
    Case("hidden_constant", lambda g, dt: call(randn(g, (2, 2, 2, 3), dt), torch.ones((2, 2, 5, 7), dtype=_dt(dt)),
                                               3, 2),
         hidden=True, points=2.0, gradcheck=False, description="constant input: every window is one big tie"),
    Case("hidden_k2_s1", _pool_make((2, 3, 5, 4), 2, 1, backward=True), hidden=True, points=2.0,
         description="2x2 windows, stride 1"),
)

_SHAPE_CASES = (
    Case("defaults", lambda g, dt: call(28, 28, 5), dtypes=("float64",), description="28x28, k=5"),
    Case("padding_same", lambda g, dt: call(32, 20, 3, 1, 1), dtypes=("float64",), points=2.0,
         description="k=3, padding 1 keeps the size"),
    Case("stride2_odd", lambda g, dt: call(7, 10, 3, stride=2), dtypes=("float64",), points=2.0,
         description="stride 2 on 7x10 (7 - 3 = 4 is even: the last window fits exactly)"),
    Case("dilation2", lambda g, dt: call(17, 12, 3, stride=1, padding=0, dilation=2), dtypes=("float64",),
         description="dilation 2 (effective kernel 5)"),
    Case("hidden_all", lambda g, dt: call(224, 101, 7, stride=2, padding=3, dilation=2), dtypes=("float64",),
         hidden=True, points=2.0, description="224x101, k=7, stride 2, padding 3, dilation 2"),
)

_PARAMS_CASES = (
    Case("rgb_3x3", lambda g, dt: call(3, 16, 3), dtypes=("float64",), points=2.0,
         description="Conv2d(3, 16, 3)"),
    Case("no_bias", lambda g, dt: call(64, 128, 3, bias=False), dtypes=("float64",),
         description="Conv2d(64, 128, 3, bias=False)"),
    Case("one_by_one", lambda g, dt: call(256, 64, 1), dtypes=("float64",), description="1x1 conv"),
    Case("hidden_7x7", lambda g, dt: call(3, 64, 7, False), dtypes=("float64",), hidden=True,
         description="Conv2d(3, 64, 7, bias=False), positional"),
)

# --------------------------------------------------------------------------- spec

ASSIGNMENT = Assignment(
    id="layers",
    position=8,
    title="Layers by hand: dense, ReLU, dropout, convolution, max pooling",
    banned=(
        "torch.nn",  # torch.nn.functional.* and every torch.nn module
        "torch.conv1d",
        "torch.conv2d",
        "torch.conv3d",
        "torch.conv_tbc",
        "torch.conv_transpose1d",
        "torch.conv_transpose2d",
        "torch.conv_transpose3d",
        "torch.convolution",
        "torch._convolution",
        "torch.cudnn_convolution",
        "torch.mkldnn_convolution",
        "torch.max_pool1d",
        "torch.max_pool2d",
        "torch.max_pool3d",
        "torch.max_pool1d_with_indices",
        "torch.dropout",
        "torch.dropout_",
        "torch.native_dropout",
        "torch.feature_dropout",
        "torch.alpha_dropout",
        "torch.ao",  # quantized conv and pooling modules
        "torch._C._nn",
        "scipy.signal",  # convolve2d, correlate2d
        "scipy.ndimage",  # convolve, maximum_filter
        "skimage",
        "jax.lax",
        "jax.nn",
        "flax",
        "tensorflow.nn",
        "keras.layers",
        "keras.ops",
        *AUTODIFF,
    ),
    banned_ops=(
        "aten::convolution",
        "aten::_convolution",
        "aten::convolution_backward",
        "aten::conv2d",
        "aten::cudnn_convolution",
        "aten::mkldnn_convolution",
        "aten::_slow_conv2d_forward",
        "aten::_slow_conv2d_backward",
        "aten::im2col",
        "aten::col2im",
        "aten::max_pool2d",
        "aten::max_pool2d_with_indices",
        "aten::max_pool2d_with_indices_backward",
        "aten::mkldnn_max_pool2d",
        "aten::native_dropout",
        "aten::native_dropout_backward",
    ),
    functions=(
        Function(name="affine_forward", cases=_AFFINE_CASES, oracle=_oracle_affine_forward),
        Function(name="relu_forward", cases=_RELU_CASES, oracle=_oracle_relu_forward),
        Function(
            name="dropout_forward",
            cases=_DROPOUT_CASES,
            oracle=_oracle_dropout_forward,
            mistakes=(
                Mistake(
                    "dropout_not_inverted",
                    "At training time your kept entries are x itself: you drop units but do not scale the "
                    "survivors. Inverted dropout divides them by the keep probability, out = x * mask / (1 - p), "
                    "so that the expected output equals x and nothing has to change at test time.",
                    _dropout_not_inverted,
                    "training output not divided by 1 - p",
                ),
                Mistake(
                    "dropout_scaled_at_test",
                    "With training=False your output is x * (1 - p). That is the rule of the original "
                    "(non-inverted) dropout; with inverted dropout the scaling already happened at training "
                    "time, so at inference out = x exactly (and the mask is all True).",
                    _dropout_scaled_at_test,
                    "output scaled at inference",
                ),
                Mistake(
                    "dropout_p_as_keep",
                    "You used p as the probability of KEEPING a unit (mask = rand < p, out / p). In this "
                    "assignment (and in torch) p is the probability of DROPPING it: keep with probability "
                    "1 - p, e.g. mask = torch.rand(x.shape) >= p, and divide by 1 - p.",
                    _dropout_p_as_keep,
                    "p used as the keep probability",
                ),
            ),
        ),
        Function(
            name="dropout_backward",
            cases=_DROPOUT_BW_CASES,
            oracle=_oracle_dropout_backward,
            gradcheck=_DROPOUT_GRADCHECK,
            mistakes=(
                Mistake(
                    "dropout_backward_ignores_mask",
                    "Your gradient flows through dropped units too: out = x * mask / (1 - p), so "
                    "dx = grad_out * mask / (1 - p), which is 0 wherever the mask is False.",
                    _dropout_backward_ignores_mask,
                    "mask ignored in the backward pass",
                ),
                Mistake(
                    "dropout_backward_not_scaled",
                    "You multiplied by the mask but forgot the 1 / (1 - p) factor of the forward pass: "
                    "dx = grad_out * mask / (1 - p).",
                    _dropout_backward_not_scaled,
                    "gradient not divided by 1 - p",
                ),
            ),
        ),
        Function(
            name="conv2d_forward",
            cases=_CONV_CASES,
            oracle=_oracle_conv2d_forward,
            mistakes=(
                Mistake(
                    "conv_flipped_kernel",
                    "You flipped the kernel (a convolution in the signal-processing sense). Deep-learning "
                    "\"convolution\" layers, torch's included, compute a cross-correlation: "
                    "out[n, f, i, j] = sum W[f, c, u, v] * x[n, c, i*s + u, j*s + v] with W NOT flipped.",
                    _conv_flipped_kernel,
                    "true convolution (flipped kernel)",
                ),
                Mistake(
                    "conv_padding_one_side",
                    "Your zero padding is added on one side only (top and left), so the output is too small "
                    "and shifted. padding=p adds p zeros on EVERY side: the padded input is "
                    "(H + 2p) x (W + 2p), with x at [p:p+H, p:p+W].",
                    _conv_padding_one_side,
                    "padding applied on one side only",
                ),
                Mistake(
                    "conv_out_size_stride",
                    "Your output is missing its last row/column when stride > 1: you computed the output size "
                    "as (H + 2p - KH + 1) // stride. The number of windows is (H + 2p - KH) // stride + 1 "
                    "(the first window starts at 0, then one every `stride` rows while it still fits).",
                    _conv_out_size_stride,
                    "wrong output size with stride",
                ),
            ),
        ),
        Function(
            name="conv2d_backward",
            cases=_CONV_BW_CASES,
            oracle=_oracle_conv2d_backward,
            gradcheck=_CONV_GRADCHECK,
            mistakes=(
                Mistake(
                    "conv_dw_batch_mean",
                    "Your dW is the batch MEAN of the per-example gradients. The same filter is used for every "
                    "example, so their gradients add up: dW = sum over n (and over positions) of "
                    "grad_out * input window. Do not divide by N (the loss already did, if it is a mean).",
                    _conv_dw_batch_mean,
                    "dW averaged over the batch",
                ),
                Mistake(
                    "conv_db_mean",
                    "Your db averages grad_out. The bias is added at every position of every example, so every "
                    "one of them sends its gradient to it: sum grad_out over the batch and both spatial axes (dims 0, 2 and 3).",
                    _conv_db_mean,
                    "db averaged instead of summed",
                ),
                Mistake(
                    "conv_dx_padded",
                    "Your dx has the shape of the PADDED input. The padding zeros are not part of x: crop the "
                    "gradient back, dx = dx_padded[:, :, p:p+H, p:p+W].",
                    _conv_dx_padded,
                    "dx not cropped to the unpadded input",
                ),
            ),
        ),
        Function(
            name="max_pool2d_forward",
            cases=_POOL_CASES,
            oracle=_oracle_max_pool2d_forward,
            mistakes=(
                Mistake(
                    "pool_stride_is_kernel",
                    "Your pooling always moves by kernel_size (non-overlapping windows, e.g. a reshape into "
                    "k x k blocks). Use the stride argument: window (i, j) starts at (i*stride, j*stride) and "
                    "H' = (H - k) // stride + 1.",
                    _pool_stride_is_kernel,
                    "stride ignored (stride = kernel_size)",
                ),
            ),
        ),
        Function(
            name="max_pool2d_backward",
            cases=_POOL_BW_CASES,
            oracle=_oracle_max_pool2d_backward,
            gradcheck=_POOL_GRADCHECK,
            mistakes=(
                Mistake(
                    "pool_grad_spread",
                    "You spread each window's gradient evenly over the window (grad / k^2): that is the gradient "
                    "of AVERAGE pooling. Max pooling passes the whole gradient to the window's maximum only.",
                    _pool_grad_spread,
                    "gradient spread over the window",
                ),
                Mistake(
                    "pool_grad_all_ties",
                    "Where a window has several equal maxima you gave the full gradient to each of them (mask "
                    "x == max), so the gradient is counted twice. Give it to one: the first maximum in "
                    "row-major order of the window (e.g. argmax of the flattened window).",
                    _pool_grad_all_ties,
                    "gradient to every tied maximum",
                ),
                Mistake(
                    "pool_grad_overlap_overwritten",
                    "Where windows overlap, a later window overwrites the gradient an earlier one sent to the "
                    "same input (dx[...] = g). Gradients from different windows add up: use dx[...] += g.",
                    _pool_grad_overlap_overwritten,
                    "overlapping windows overwrite instead of adding",
                ),
            ),
        ),
        Function(
            name="conv2d_output_shape",
            cases=_SHAPE_CASES,
            oracle=_oracle_conv2d_output_shape,
            mistakes=(
                Mistake(
                    "conv_shape_padding_one_side",
                    "You added the padding once. It is added on both sides: "
                    "h_out = (h + 2*padding - dilation*(kernel_size - 1) - 1) // stride + 1.",
                    _conv_shape_padding_one_side,
                    "padding counted once",
                ),
                Mistake(
                    "conv_shape_positions_div_stride",
                    "You divided the number of stride-1 positions by the stride, (h + 2p - k_eff + 1) // stride. "
                    "The windows start at 0, s, 2s, ... while they fit: (h + 2p - k_eff) // stride + 1, "
                    "with k_eff = dilation*(kernel_size - 1) + 1.",
                    _conv_shape_positions_div_stride,
                    "wrong output size with stride",
                ),
                Mistake(
                    "conv_shape_no_dilation",
                    "You ignored the dilation: a dilated kernel spans dilation*(kernel_size - 1) + 1 pixels, so "
                    "h_out = (h + 2*padding - dilation*(kernel_size - 1) - 1) // stride + 1.",
                    _conv_shape_no_dilation,
                    "dilation ignored",
                ),
            ),
        ),
        Function(
            name="conv2d_num_params",
            cases=_PARAMS_CASES,
            oracle=_oracle_conv2d_num_params,
            mistakes=(
                Mistake(
                    "conv_params_missing_in_channels",
                    "Each filter spans every input channel: it has in_channels * k * k weights, not k * k. "
                    "Total = out_channels * in_channels * k * k (+ out_channels biases).",
                    _conv_params_missing_in_channels,
                    "filters without their input channels",
                ),
                Mistake(
                    "conv_params_bias_ignored",
                    "With bias=False the layer has no biases: do not add out_channels then.",
                    _conv_params_bias_ignored,
                    "bias counted when bias=False",
                ),
            ),
        ),
    ),
)
