"""Correct layers as classes with forward/backward and a cache (deep-learning-from-scratch style),
wrapped by the functions the assignment asks for."""
import torch


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b
        self.x = None

    def forward(self, x):
        self.x = x
        return torch.matmul(x, self.W) + self.b


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        out = x.clone()
        out[self.mask] = 0
        return out


class Dropout:
    def __init__(self, p):
        self.p = p
        self.mask = None

    def forward(self, x, train_flg=True):
        if train_flg:
            self.mask = torch.rand(*x.shape, dtype=torch.float64, device=x.device) > self.p
            return x * self.mask.to(x.dtype) * (1.0 / (1.0 - self.p))
        self.mask = torch.ones(x.shape, dtype=torch.bool, device=x.device)
        return x * 1.0

    def backward(self, dout):
        return dout * self.mask.to(dout.dtype) / (1.0 - self.p)


class Conv2d:
    def __init__(self, W, b=None, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad
        self.cache = None

    def _cols(self, x):
        N, C, H, W = x.shape
        FN, _, FH, FW = self.W.shape
        p, s = self.pad, self.stride
        xp = torch.zeros(N, C, H + 2 * p, W + 2 * p, dtype=x.dtype, device=x.device)
        xp[:, :, p:p + H, p:p + W] = x
        out_h = (H + 2 * p - FH) // s + 1
        out_w = (W + 2 * p - FW) // s + 1
        col = torch.zeros(N, C, FH, FW, out_h, out_w, dtype=x.dtype, device=x.device)
        for y in range(FH):
            y_max = y + s * out_h
            for xx in range(FW):
                x_max = xx + s * out_w
                col[:, :, y, xx, :, :] = xp[:, :, y:y_max:s, xx:x_max:s]
        col = col.permute(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, -1)  # (N*oh*ow, C*FH*FW)
        return col, out_h, out_w

    def forward(self, x):
        FN = self.W.shape[0]
        col, out_h, out_w = self._cols(x)
        col_W = self.W.reshape(FN, -1).T  # (C*FH*FW, FN)
        out = col @ col_W + self.b
        self.cache = (x, col, col_W, out_h, out_w)
        return out.reshape(x.shape[0], out_h, out_w, FN).permute(0, 3, 1, 2)

    def backward(self, dout):
        x, col, col_W, out_h, out_w = self.cache
        N, C, H, W = x.shape
        FN, _, FH, FW = self.W.shape
        p, s = self.pad, self.stride
        dout = dout.permute(0, 2, 3, 1).reshape(-1, FN)  # (N*oh*ow, FN)
        db = dout.sum(dim=0)
        dW = (col.T @ dout).T.reshape(FN, C, FH, FW)
        dcol = (dout @ col_W.T).reshape(N, out_h, out_w, C, FH, FW).permute(0, 3, 4, 5, 1, 2)
        dxp = torch.zeros(N, C, H + 2 * p, W + 2 * p, dtype=x.dtype, device=x.device)
        for y in range(FH):
            y_max = y + s * out_h
            for xx in range(FW):
                x_max = xx + s * out_w
                dxp[:, :, y:y_max:s, xx:x_max:s] += dcol[:, :, y, xx, :, :]
        return dxp[:, :, p:H + p, p:W + p], dW, db


class MaxPool2d:
    def __init__(self, pool, stride):
        self.pool, self.stride = pool, stride

    def forward(self, x):
        N, C, H, W = x.shape
        k, s = self.pool, self.stride
        out_h, out_w = (H - k) // s + 1, (W - k) // s + 1
        col = torch.stack([x[:, :, i:i + s * out_h:s, j:j + s * out_w:s]
                           for i in range(k) for j in range(k)], dim=-1)  # (N, C, oh, ow, k*k)
        self.x, self.arg_max = x, col.argmax(dim=-1)
        return col.max(dim=-1).values

    def backward(self, dout):
        x, k, s = self.x, self.pool, self.stride
        out_h, out_w = dout.shape[2], dout.shape[3]
        dx = torch.zeros_like(x)
        for i in range(k):
            for j in range(k):
                sel = (self.arg_max == i * k + j).to(dout.dtype)
                dx[:, :, i:i + s * out_h:s, j:j + s * out_w:s] += sel * dout
        return dx


def affine_forward(x, W, b):
    return Affine(W, b).forward(x)


def relu_forward(x):
    return Relu().forward(x)


def dropout_forward(x, p, training):
    layer = Dropout(p)
    out = layer.forward(x, train_flg=training)
    return out, layer.mask


def dropout_backward(grad_out, mask, p):
    layer = Dropout(p)
    layer.mask = mask
    return layer.backward(grad_out)


def conv2d_forward(x, W, b, stride=1, padding=0):
    return Conv2d(W, b, stride, padding).forward(x)


def conv2d_backward(grad_out, x, W, stride=1, padding=0):
    layer = Conv2d(W, torch.zeros(W.shape[0], dtype=W.dtype, device=W.device), stride, padding)
    layer.forward(x)
    return layer.backward(grad_out)


def max_pool2d_forward(x, kernel_size, stride):
    return MaxPool2d(kernel_size, stride).forward(x)


def max_pool2d_backward(grad_out, x, kernel_size, stride):
    layer = MaxPool2d(kernel_size, stride)
    layer.forward(x)
    return layer.backward(grad_out)


def conv2d_output_shape(h, w, kernel_size, stride=1, padding=0, dilation=1):
    size = lambda n: (n + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
    return size(h), size(w)


def conv2d_num_params(in_channels, out_channels, kernel_size, bias=True):
    n = out_channels * in_channels * kernel_size * kernel_size
    if bias:
        n += out_channels
    return n
