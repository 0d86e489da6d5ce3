"""Reference implementation of the ``layers`` assignment (ASSIGNMENTS.md, section 8).

Dense, ReLU, inverted dropout, 2-D convolution (cross-correlation, as
``torch.nn.functional.conv2d``) and max pooling, forward and backward, written
with elementary tensor ops only: no ``torch.nn.functional``, no ``torch.conv*``,
no ``torch.max_pool2d``, no ``torch.dropout``, no autograd.  ``Tensor.unfold``
(a strided view), ``einsum`` and loops over the kernel offsets are used.

Sources of the formulas:

* affine / ReLU / inverted dropout: CS231n assignment 2 (``layers.py``) and
  Srivastava et al., *Dropout*, JMLR 2014 (inverted scaling by 1/(1 - p) at
  training time, as ``torch.nn.functional.dropout``);
* convolution as cross-correlation with zero padding and the output size
  H' = (H + 2p - KH) // s + 1: Dumoulin & Visin, *A guide to convolution
  arithmetic for deep learning*, 2016, relation 6; its gradients (the
  transposed convolution for dx, the correlation of input and upstream for
  dW): Goodfellow, Bengio & Courville, *Deep Learning*, section 9.5, eq. 9.11-9.13;
* max pooling and its gradient (the whole window gradient goes to the
  arg-max; ties to the first maximum in row-major order of the window, as
  torch's CPU and CUDA kernels, which keep a strictly greater value only);
* output size with dilation: the formula of ``torch.nn.Conv2d``'s documentation.
"""

from __future__ import annotations

import torch

__all__ = [
    "affine_forward",
    "relu_forward",
    "dropout_forward",
    "dropout_backward",
    "conv2d_forward",
    "conv2d_backward",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "conv2d_output_shape",
    "conv2d_num_params",
]


# --------------------------------------------------------------------------- dense and ReLU


def affine_forward(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Fully connected layer: out = x @ W + b.

    Args:
        x: (N, D) float32/float64.
        W: (D, M), same dtype.
        b: (M,), same dtype.

    Returns:
        (N, M) tensor, x's dtype and device.
    """
    return x @ W + b  # (N, M)


def relu_forward(x: torch.Tensor) -> torch.Tensor:
    """ReLU, elementwise: max(x, 0).

    Args:
        x: any shape, float32/float64.

    Returns:
        Tensor shaped like ``x`` (0 where x <= 0), same dtype and device.
    """
    return torch.where(x > 0, x, torch.zeros((), dtype=x.dtype, device=x.device))  # like x


# --------------------------------------------------------------------------- dropout


def _check_p(p: float) -> float:
    p = float(p)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1), got {p}")
    return p


def dropout_forward(x: torch.Tensor, p: float, training: bool):
    """Inverted dropout.

    Training: every entry is kept (mask True) independently with probability
    1 - p, out = x * mask / (1 - p); the draw uses torch's default generator.
    Not training: out = x (a copy) and the mask is all True.

    Args:
        x: any shape, float32/float64.
        p: drop probability in [0, 1).
        training: draw a mask (True) or pass x through (False).

    Returns:
        (out, mask): out shaped like x (x's dtype and device), mask bool shaped like x.

    Raises:
        ValueError: p outside [0, 1).
    """
    p = _check_p(p)
    if not training:
        return x.clone(), torch.ones(x.shape, dtype=torch.bool, device=x.device)
    u = torch.rand(x.shape, dtype=torch.float64, device=x.device)  # like x, uniform [0, 1)
    mask = u >= p  # like x, P(True) = 1 - p
    out = torch.where(mask, x / (1.0 - p), torch.zeros((), dtype=x.dtype, device=x.device))  # like x
    return out, mask


def dropout_backward(grad_out: torch.Tensor, mask: torch.Tensor, p: float) -> torch.Tensor:
    """Gradient of inverted dropout at training time: grad_out * mask / (1 - p).

    Args:
        grad_out: upstream gradient, any shape, float32/float64.
        mask: bool tensor shaped like grad_out (True = kept), from dropout_forward.
        p: the drop probability used in the forward pass, in [0, 1).

    Returns:
        Tensor shaped like grad_out, same dtype and device.

    Raises:
        ValueError: p outside [0, 1).
    """
    p = _check_p(p)
    return torch.where(mask, grad_out / (1.0 - p), torch.zeros((), dtype=grad_out.dtype, device=grad_out.device))


# --------------------------------------------------------------------------- convolution


def _pad(x: torch.Tensor, padding: int) -> torch.Tensor:
    """Zero-pad the last two dims of (N, C, H, W) by ``padding`` on every side (a new tensor)."""
    if padding == 0:
        return x
    N, C, H, W = x.shape
    xp = torch.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=x.dtype, device=x.device)  # (N, C, Hp, Wp)
    xp[:, :, padding:padding + H, padding:padding + W] = x
    return xp


def _out_size(n: int, k: int, stride: int, padding: int) -> int:
    size = (n + 2 * padding - k) // stride + 1
    if size < 1:
        raise ValueError(f"input size {n} (padding {padding}) is smaller than the kernel size {k}")
    return size


def _check_conv(x: torch.Tensor, W: torch.Tensor, stride: int, padding: int) -> None:
    if x.dim() != 4 or W.dim() != 4:
        raise ValueError(f"expected x (N, C, H, W) and W (F, C, KH, KW), got {tuple(x.shape)} and {tuple(W.shape)}")
    if x.shape[1] != W.shape[1]:
        raise ValueError(f"x has {x.shape[1]} channels but W expects {W.shape[1]}")
    if int(stride) < 1 or int(padding) < 0:
        raise ValueError(f"stride must be >= 1 and padding >= 0, got {stride} and {padding}")


def conv2d_forward(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor, stride: int = 1, padding: int = 0):
    """2-D cross-correlation with zero padding, as ``torch.nn.functional.conv2d``.

    out[n, f, i, j] = b[f] + sum_{c, u, v} W[f, c, u, v] * xp[n, c, i*stride + u, j*stride + v],
    xp the input zero-padded by ``padding`` on all four sides.

    Args:
        x: (N, C, H, W) float32/float64.
        W: (F, C, KH, KW) filters, same dtype.
        b: (F,) biases, same dtype.
        stride: int >= 1, the same along H and W.
        padding: int >= 0 zeros added on each side of H and W.

    Returns:
        (N, F, H', W'), H' = (H + 2*padding - KH) // stride + 1 (same for W'); x's dtype and device.

    Raises:
        ValueError: wrong ranks or channel counts, stride < 1, padding < 0, or an input smaller than the kernel.
    """
    _check_conv(x, W, stride, padding)
    stride, padding = int(stride), int(padding)
    F, _, KH, KW = W.shape
    _out_size(x.shape[2], KH, stride, padding), _out_size(x.shape[3], KW, stride, padding)
    xp = _pad(x, padding)  # (N, C, Hp, Wp)
    cols = xp.unfold(2, KH, stride).unfold(3, KW, stride)  # (N, C, H', W', KH, KW) view
    out = torch.einsum("nchwuv,fcuv->nfhw", cols, W)  # (N, F, H', W')
    return out + b.reshape(1, F, 1, 1)  # (N, F, H', W')


def conv2d_backward(grad_out: torch.Tensor, x: torch.Tensor, W: torch.Tensor, stride: int = 1, padding: int = 0):
    """Gradients of :func:`conv2d_forward` with respect to x, W and b.

    dW[f, c, u, v] = sum_{n, i, j} grad_out[n, f, i, j] * xp[n, c, i*s + u, j*s + v]
    db[f]          = sum_{n, i, j} grad_out[n, f, i, j]
    dxp[n, c, i*s + u, j*s + v] += sum_f grad_out[n, f, i, j] * W[f, c, u, v]  (overlaps add up),
    dx = dxp without its padding.

    Args:
        grad_out: (N, F, H', W') upstream gradient.
        x: (N, C, H, W) the forward input.
        W: (F, C, KH, KW) the filters.
        stride, padding: as in the forward pass.

    Returns:
        (dx (N, C, H, W), dW (F, C, KH, KW), db (F,)), x's dtype and device.

    Raises:
        ValueError: as :func:`conv2d_forward`, or grad_out of the wrong shape.
    """
    _check_conv(x, W, stride, padding)
    stride, padding = int(stride), int(padding)
    N, C, H, Wd = x.shape
    F, _, KH, KW = W.shape
    Ho, Wo = _out_size(H, KH, stride, padding), _out_size(Wd, KW, stride, padding)
    if tuple(grad_out.shape) != (N, F, Ho, Wo):
        raise ValueError(f"grad_out must be {(N, F, Ho, Wo)}, got {tuple(grad_out.shape)}")
    xp = _pad(x, padding)  # (N, C, Hp, Wp)
    cols = xp.unfold(2, KH, stride).unfold(3, KW, stride)  # (N, C, H', W', KH, KW)
    db = grad_out.sum(dim=(0, 2, 3))  # (F,)
    dW = torch.einsum("nfhw,nchwuv->fcuv", grad_out, cols)  # (F, C, KH, KW)
    dcols = torch.einsum("nfhw,fcuv->nchwuv", grad_out, W)  # (N, C, H', W', KH, KW)
    dxp = torch.zeros(xp.shape, dtype=x.dtype, device=x.device)  # (N, C, Hp, Wp)
    h_span, w_span = stride * (Ho - 1) + 1, stride * (Wo - 1) + 1
    for u in range(KH):  # overlapping windows: add every kernel offset's share
        for v in range(KW):
            dxp[:, :, u:u + h_span:stride, v:v + w_span:stride] += dcols[:, :, :, :, u, v]  # (N, C, H', W')
    dx = dxp[:, :, padding:padding + H, padding:padding + Wd].clone()  # (N, C, H, W)
    return dx, dW, db


# --------------------------------------------------------------------------- max pooling


def _windows(x: torch.Tensor, kernel_size: int, stride: int) -> torch.Tensor:
    if x.dim() != 4:
        raise ValueError(f"expected x of shape (N, C, H, W), got {tuple(x.shape)}")
    if int(kernel_size) < 1 or int(stride) < 1:
        raise ValueError(f"kernel_size and stride must be >= 1, got {kernel_size} and {stride}")
    _out_size(x.shape[2], kernel_size, stride, 0), _out_size(x.shape[3], kernel_size, stride, 0)
    return x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)  # (N, C, H', W', k, k)


def max_pool2d_forward(x: torch.Tensor, kernel_size: int, stride: int) -> torch.Tensor:
    """Max pooling over k x k windows with the given stride, no padding, as ``F.max_pool2d``.

    Args:
        x: (N, C, H, W) float32/float64.
        kernel_size: window side k >= 1.
        stride: step >= 1 (windows overlap when stride < k).

    Returns:
        (N, C, H', W'), H' = (H - k) // stride + 1 (same for W'); x's dtype and device.

    Raises:
        ValueError: x not 4-D, k or stride < 1, or an input smaller than the window.
    """
    k, s = int(kernel_size), int(stride)
    win = _windows(x, k, s)  # (N, C, H', W', k, k)
    return win.reshape(*win.shape[:4], k * k).amax(dim=-1)  # (N, C, H', W')


def max_pool2d_backward(grad_out: torch.Tensor, x: torch.Tensor, kernel_size: int, stride: int) -> torch.Tensor:
    """Gradient of :func:`max_pool2d_forward` with respect to x.

    Each window's upstream gradient goes to its maximum; with ties, to the
    first maximum in row-major order of the window.  Overlapping windows add up.

    Args:
        grad_out: (N, C, H', W') upstream gradient.
        x: (N, C, H, W) the forward input.
        kernel_size, stride: as in the forward pass.

    Returns:
        dx of shape (N, C, H, W), x's dtype and device.

    Raises:
        ValueError: as :func:`max_pool2d_forward`, or grad_out of the wrong shape.
    """
    k, s = int(kernel_size), int(stride)
    win = _windows(x, k, s)  # (N, C, H', W', k, k)
    N, C, Ho, Wo = win.shape[:4]
    if tuple(grad_out.shape) != (N, C, Ho, Wo):
        raise ValueError(f"grad_out must be {(N, C, Ho, Wo)}, got {tuple(grad_out.shape)}")
    flat = win.reshape(N, C, Ho, Wo, k * k)  # (N, C, H', W', k*k), row-major within the window
    is_max = flat == flat.amax(dim=-1, keepdim=True)  # (N, C, H', W', k*k)
    first = is_max & (is_max.cumsum(dim=-1) == 1)  # (N, C, H', W', k*k) only the first maximum
    dwin = torch.where(first, grad_out.unsqueeze(-1), torch.zeros((), dtype=x.dtype, device=x.device))
    dwin = dwin.reshape(N, C, Ho, Wo, k, k)  # (N, C, H', W', k, k)
    dx = torch.zeros(x.shape, dtype=x.dtype, device=x.device)  # (N, C, H, W)
    h_span, w_span = s * (Ho - 1) + 1, s * (Wo - 1) + 1
    for u in range(k):  # overlapping windows: add every offset's share
        for v in range(k):
            dx[:, :, u:u + h_span:s, v:v + w_span:s] += dwin[:, :, :, :, u, v]  # (N, C, H', W')
    return dx


# --------------------------------------------------------------------------- shapes and parameters


def conv2d_output_shape(h: int, w: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1):
    """Spatial output size of a Conv2d with a square kernel (``torch.nn.Conv2d``'s formula).

    h_out = floor((h + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1, same for w.

    Args:
        h, w: input height and width (ints >= 1).
        kernel_size, stride, dilation: ints >= 1; padding: int >= 0.

    Returns:
        (h_out, w_out) as a tuple of Python ints.

    Raises:
        ValueError: a parameter out of range, or an input smaller than the (dilated) kernel.
    """
    if min(kernel_size, stride, dilation) < 1 or padding < 0:
        raise ValueError("kernel_size, stride and dilation must be >= 1 and padding >= 0")
    out = []
    for n in (h, w):
        size = (n + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
        if size < 1:
            raise ValueError(f"input size {n} is too small for a dilated kernel of {dilation * (kernel_size - 1) + 1}")
        out.append(int(size))
    return tuple(out)


def conv2d_num_params(in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> int:
    """Learnable parameters of ``torch.nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)``.

    Each of the out_channels filters has in_channels * k * k weights, plus one
    bias each when ``bias``.

    Returns:
        A Python int.
    """
    return int(out_channels * in_channels * kernel_size * kernel_size + (out_channels if bias else 0))
