"""Correct layers computed in numpy (im2col with stride tricks, np.add.at), converted at the boundary."""
import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view


def _np(t):
    return t.detach().cpu().numpy()


def _back(a, like):
    return torch.from_numpy(np.ascontiguousarray(a)).to(like)


def affine_forward(x, W, b):
    return _back(_np(x) @ _np(W) + _np(b), x)


def relu_forward(x):
    a = _np(x)
    return _back(np.where(a > 0, a, np.zeros_like(a)), x)


def dropout_forward(x, p, training):
    if not training:
        return x.clone(), torch.ones(x.shape, dtype=torch.bool, device=x.device)
    u = _np(torch.rand(x.shape, dtype=torch.float64))  # torch's generator, as the assignment asks
    mask = u >= p
    out = _np(x) * mask / np.asarray(1 - p, dtype=_np(x).dtype)
    return _back(out, x), torch.from_numpy(mask).to(x.device)


def dropout_backward(grad_out, mask, p):
    g = _np(grad_out)
    return _back(g * _np(mask) / np.asarray(1 - p, dtype=g.dtype), grad_out)


def _windows(a, kh, kw, s):
    # (N, C, H', W', kh, kw)
    return sliding_window_view(a, (kh, kw), axis=(2, 3))[:, :, ::s, ::s]


def conv2d_forward(x, W, b, stride=1, padding=0):
    a = np.pad(_np(x), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    w = _np(W)
    cols = _windows(a, w.shape[2], w.shape[3], stride)
    out = np.tensordot(cols, w, axes=([1, 4, 5], [1, 2, 3]))  # (N, H', W', F)
    out = out.transpose(0, 3, 1, 2) + _np(b)[None, :, None, None]
    return _back(out, x)


def conv2d_backward(grad_out, x, W, stride=1, padding=0):
    a = np.pad(_np(x), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    w, g = _np(W), _np(grad_out)
    F, C, kh, kw = w.shape
    N, _, Ho, Wo = g.shape
    cols = _windows(a, kh, kw, stride)  # (N, C, Ho, Wo, kh, kw)
    dW = np.tensordot(g, cols, axes=([0, 2, 3], [0, 2, 3]))  # (F, C, kh, kw)
    db = g.sum(axis=(0, 2, 3))
    dcols = np.tensordot(g, w, axes=([1], [0]))  # (N, Ho, Wo, C, kh, kw)
    dpad = np.zeros_like(a)
    for i in range(Ho):
        for j in range(Wo):
            hs, ws = i * stride, j * stride
            dpad[:, :, hs:hs + kh, ws:ws + kw] += dcols[:, i, j]
    H, Wd = x.shape[2], x.shape[3]
    dx = dpad[:, :, padding:padding + H, padding:padding + Wd]
    return _back(dx, x), _back(dW, W), _back(db, W)


def max_pool2d_forward(x, kernel_size, stride):
    win = _windows(_np(x), kernel_size, kernel_size, stride)
    return _back(win.max(axis=(4, 5)), x)


def max_pool2d_backward(grad_out, x, kernel_size, stride):
    a, g = _np(x), _np(grad_out)
    k = kernel_size
    win = _windows(a, k, k, stride)
    N, C, Ho, Wo = win.shape[:4]
    arg = win.reshape(N, C, Ho, Wo, k * k).argmax(axis=-1)  # first maximum
    n, c, i, j = np.indices((N, C, Ho, Wo))
    rows = i * stride + arg // k
    cols = j * stride + arg % k
    dx = np.zeros_like(a)
    np.add.at(dx, (n, c, rows, cols), g)
    return _back(dx, x)


def conv2d_output_shape(h, w, kernel_size, stride=1, padding=0, dilation=1):
    h_out = int(np.floor((h + 2 * padding - dilation * (kernel_size - 1) - 1) / stride)) + 1
    w_out = int(np.floor((w + 2 * padding - dilation * (kernel_size - 1) - 1) / stride)) + 1
    return h_out, w_out


def conv2d_num_params(in_channels, out_channels, kernel_size, bias=True):
    return int(np.prod([out_channels, in_channels, kernel_size, kernel_size])) + (out_channels if bias else 0)
