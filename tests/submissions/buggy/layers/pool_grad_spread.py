"""Student-style layers with one deliberate mistake: pool_grad_spread.
"""
import torch


def affine_forward(x, W, b):
    N = x.shape[0]
    out = torch.zeros(N, W.shape[1], dtype=x.dtype, device=x.device)
    for n in range(N):
        out[n] = x[n] @ W + b
    return out


def relu_forward(x):
    out = x.clone()
    out[out < 0] = 0
    return out


def dropout_forward(x, p, training):
    if training:
        mask = torch.rand(x.shape, device=x.device) < (1 - p)
        out = x * mask / (1 - p)
    else:
        mask = torch.ones(x.shape, dtype=torch.bool, device=x.device)
        out = x.clone()
    return out, mask


def dropout_backward(grad_out, mask, p):
    return grad_out * mask.to(grad_out.dtype) / (1 - p)


def conv2d_forward(x, W, b, stride=1, padding=0):
    N, C, H, Wd = x.shape
    F, _, HH, WW = W.shape
    H_out = 1 + (H + 2 * padding - HH) // stride
    W_out = 1 + (Wd + 2 * padding - WW) // stride
    x_pad = torch.zeros(N, C, H + 2 * padding, Wd + 2 * padding, dtype=x.dtype, device=x.device)
    x_pad[:, :, padding:padding + H, padding:padding + Wd] = x
    out = torch.zeros(N, F, H_out, W_out, dtype=x.dtype, device=x.device)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    hs, ws = i * stride, j * stride
                    window = x_pad[n, :, hs:hs + HH, ws:ws + WW]
                    out[n, f, i, j] = (window * W[f]).sum() + b[f]
    return out


def conv2d_backward(grad_out, x, W, stride=1, padding=0):
    N, C, H, Wd = x.shape
    F, _, HH, WW = W.shape
    _, _, H_out, W_out = grad_out.shape
    x_pad = torch.zeros(N, C, H + 2 * padding, Wd + 2 * padding, dtype=x.dtype, device=x.device)
    x_pad[:, :, padding:padding + H, padding:padding + Wd] = x
    dx_pad = torch.zeros_like(x_pad)
    dW = torch.zeros_like(W)
    db = torch.zeros(F, dtype=x.dtype, device=x.device)
    for n in range(N):
        for f in range(F):
            db[f] += grad_out[n, f].sum()
            for i in range(H_out):
                for j in range(W_out):
                    hs, ws = i * stride, j * stride
                    g = grad_out[n, f, i, j]
                    dW[f] += g * x_pad[n, :, hs:hs + HH, ws:ws + WW]
                    dx_pad[n, :, hs:hs + HH, ws:ws + WW] += g * W[f]
    dx = dx_pad[:, :, padding:padding + H, padding:padding + Wd]
    return dx, dW, db


def max_pool2d_forward(x, kernel_size, stride):
    N, C, H, W = x.shape
    H_out = (H - kernel_size) // stride + 1
    W_out = (W - kernel_size) // stride + 1
    out = torch.zeros(N, C, H_out, W_out, dtype=x.dtype, device=x.device)
    for i in range(H_out):
        for j in range(W_out):
            hs, ws = i * stride, j * stride
            window = x[:, :, hs:hs + kernel_size, ws:ws + kernel_size]
            out[:, :, i, j] = window.amax(dim=(2, 3))
    return out


def max_pool2d_backward(grad_out, x, kernel_size, stride):
    N, C, H, W = x.shape
    _, _, H_out, W_out = grad_out.shape
    dx = torch.zeros_like(x)
    for i in range(H_out):
        for j in range(W_out):
            hs, ws = i * stride, j * stride
            g = grad_out[:, :, i, j][:, :, None, None]
            dx[:, :, hs:hs + kernel_size, ws:ws + kernel_size] += g / (kernel_size * kernel_size)
    return dx


def conv2d_output_shape(h, w, kernel_size, stride=1, padding=0, dilation=1):
    effective = dilation * (kernel_size - 1) + 1
    h_out = (h + 2 * padding - effective) // stride + 1
    w_out = (w + 2 * padding - effective) // stride + 1
    return (h_out, w_out)


def conv2d_num_params(in_channels, out_channels, kernel_size, bias=True):
    weights = in_channels * kernel_size * kernel_size * out_channels
    biases = out_channels if bias else 0
    return weights + biases
