"""Correct batchnorm as a layer object (d2l / CS231n style): the layer owns gamma, beta and the running
statistics, forward() caches x_hat and the inverse std, backward() uses the cache (the compact formula).
The gradients come back as a namedtuple."""
from collections import namedtuple

import torch

BNGrads = namedtuple("BNGrads", ["dx", "dgamma", "dbeta"])


class BatchNorm:
    def __init__(self, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
        self.gamma, self.beta = gamma, beta
        self.running_mean, self.running_var = running_mean, running_var
        self.momentum, self.eps = momentum, eps
        self.cache = None

    @staticmethod
    def _axes(x):
        return [0] + list(range(2, x.dim()))

    def _shape(self, x):
        return [1, x.shape[1]] + [1] * (x.dim() - 2)

    def forward(self, x, training):
        axes, shape = self._axes(x), self._shape(x)
        if training:
            mu = x.mean(dim=axes)
            var = ((x - mu.view(shape)) ** 2).mean(dim=axes)
            m = x.numel() // x.shape[1]
            unbiased = var * m / (m - 1)
            self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mu
            self.running_var = (1 - self.momentum) * self.running_var + self.momentum * unbiased
        else:
            mu, var = self.running_mean, self.running_var
        inv_std = 1.0 / torch.sqrt(var + self.eps)
        x_hat = (x - mu.view(shape)) * inv_std.view(shape)
        self.cache = (x_hat, inv_std)
        return self.gamma.view(shape) * x_hat + self.beta.view(shape)

    def backward(self, dout):
        x_hat, inv_std = self.cache
        axes, shape = self._axes(dout), self._shape(dout)
        m = dout.numel() // dout.shape[1]
        dbeta = dout.sum(dim=axes)
        dgamma = (dout * x_hat).sum(dim=axes)
        dx_hat = dout * self.gamma.view(shape)
        dx = (inv_std.view(shape) / m) * (m * dx_hat - dx_hat.sum(dim=axes, keepdim=True)
                                          - x_hat * (dx_hat * x_hat).sum(dim=axes, keepdim=True))
        return BNGrads(dx, dgamma, dbeta)


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    bn = BatchNorm(gamma, beta, running_mean, running_var, momentum=momentum, eps=eps)
    out = bn.forward(x, training)
    return out, bn.running_mean, bn.running_var


def batchnorm_backward(grad_out, x, gamma, eps=1e-5):
    C = x.shape[1]
    bn = BatchNorm(gamma, torch.zeros_like(gamma), torch.zeros(C, dtype=x.dtype, device=x.device),
                   torch.ones(C, dtype=x.dtype, device=x.device), eps=eps)
    bn.forward(x, training=True)
    return bn.backward(grad_out)
