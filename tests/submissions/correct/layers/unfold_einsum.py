"""Correct layers, vectorised: im2col with Tensor.unfold, einsum, scatter_add for the backward passes."""
import torch


def affine_forward(x, W, b):
    return torch.addmm(b, x, W)


def relu_forward(x):
    return x.clamp(min=0)


def dropout_forward(x, p, training):
    if not training:
        return x.clone(), torch.ones_like(x, dtype=torch.bool)
    keep = torch.bernoulli(torch.full_like(x, 1 - p)).bool()
    return x * keep / (1 - p), keep


def dropout_backward(grad_out, mask, p):
    return grad_out * mask / (1 - p)


def _pad(x, p):
    if p == 0:
        return x
    N, C, H, W = x.shape
    out = x.new_zeros(N, C, H + 2 * p, W + 2 * p)
    out[:, :, p:p + H, p:p + W] = x
    return out


def _im2col(x, kh, kw, stride, padding):
    # (N, C, H', W', kh, kw) view of every window
    return _pad(x, padding).unfold(2, kh, stride).unfold(3, kw, stride)


def conv2d_forward(x, W, b, stride=1, padding=0):
    cols = _im2col(x, W.shape[2], W.shape[3], stride, padding)
    return torch.einsum("nchwij,fcij->nfhw", cols, W) + b[None, :, None, None]


def _col2im(dcols, shape, stride):
    """Add the (N, C, H', W', kh, kw) window gradients back into an (N, C, H, W) tensor."""
    N, C, Ho, Wo, kh, kw = dcols.shape
    H, W = shape[2], shape[3]
    rows = (torch.arange(Ho, device=dcols.device) * stride)[:, None] + torch.arange(kh, device=dcols.device)  # (Ho, kh)
    cols = (torch.arange(Wo, device=dcols.device) * stride)[:, None] + torch.arange(kw, device=dcols.device)  # (Wo, kw)
    flat = rows[:, None, :, None] * W + cols[None, :, None, :]  # (Ho, Wo, kh, kw) flat index into H*W
    index = flat.reshape(1, 1, -1).expand(N, C, -1)
    out = torch.zeros(N, C, H * W, dtype=dcols.dtype, device=dcols.device)
    out.scatter_add_(2, index, dcols.reshape(N, C, -1))
    return out.reshape(N, C, H, W)


def conv2d_backward(grad_out, x, W, stride=1, padding=0):
    kh, kw = W.shape[2], W.shape[3]
    cols = _im2col(x, kh, kw, stride, padding)
    dW = torch.einsum("nfhw,nchwij->fcij", grad_out, cols)
    db = grad_out.sum(dim=(0, 2, 3))
    dcols = torch.einsum("nfhw,fcij->nchwij", grad_out, W)
    N, C, H, Wd = x.shape
    dxp = _col2im(dcols, (N, C, H + 2 * padding, Wd + 2 * padding), stride)
    dx = dxp[:, :, padding:padding + H, padding:padding + Wd]
    return dx, dW, db


def max_pool2d_forward(x, kernel_size, stride):
    win = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)
    return win.flatten(-2).max(dim=-1).values


def max_pool2d_backward(grad_out, x, kernel_size, stride):
    k = kernel_size
    win = x.unfold(2, k, stride).unfold(3, k, stride).flatten(-2)  # (N, C, H', W', k*k)
    idx = win.argmax(dim=-1)  # first maximum, row-major in the window
    onehot = (torch.arange(k * k, device=x.device) == idx[..., None])
    dwin = onehot.to(x.dtype) * grad_out[..., None]
    return _col2im(dwin.reshape(*dwin.shape[:4], k, k), x.shape, stride)


def conv2d_output_shape(h, w, kernel_size, stride=1, padding=0, dilation=1):
    def one(n):
        return (n + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
    return one(h), one(w)


def conv2d_num_params(in_channels, out_channels, kernel_size, bias=True):
    return out_channels * in_channels * kernel_size ** 2 + (out_channels if bias else 0)
