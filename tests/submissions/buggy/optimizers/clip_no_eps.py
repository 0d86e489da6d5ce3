"""Optimizer classes; clipping coefficient max_norm / total without the 1e-6."""

import math

import torch


class SGD:
    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        self.lr = lr
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.v = None

    def step(self, w, dw):
        dw = dw + self.weight_decay * w
        if self.momentum == 0.0 and self.v is None:
            return w - self.lr * dw
        if self.v is None:
            self.v = torch.zeros_like(w)
        self.v = self.momentum * self.v + dw
        if self.nesterov:
            update = dw + self.momentum * self.v
        else:
            update = self.v
        return w - self.lr * update


class AdaGrad:
    def __init__(self, lr=0.01, eps=1e-10):
        self.lr = lr
        self.eps = eps
        self.h = None

    def step(self, w, dw):
        if self.h is None:
            self.h = torch.zeros_like(w)
        self.h = self.h + dw * dw
        return w - self.lr * dw / (torch.sqrt(self.h) + self.eps)


class RMSprop:
    def __init__(self, lr=0.01, decay_rate=0.99, eps=1e-8):
        self.lr = lr
        self.decay_rate = decay_rate
        self.eps = eps
        self.cache = None

    def step(self, w, dw):
        if self.cache is None:
            self.cache = torch.zeros_like(w)
        self.cache = self.decay_rate * self.cache + (1 - self.decay_rate) * dw ** 2
        return w - self.lr * dw / (torch.sqrt(self.cache) + self.eps)


class Adam:
    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.weight_decay = weight_decay
        self.decoupled = decoupled
        self.iter = 0
        self.m = None
        self.v = None

    def step(self, w, dw):
        if self.m is None:
            self.m = torch.zeros_like(w)
            self.v = torch.zeros_like(w)
        self.iter += 1
        if self.decoupled:
            w = w * (1 - self.lr * self.weight_decay)
        else:
            dw = dw + self.weight_decay * w
        self.m = self.beta1 * self.m + (1 - self.beta1) * dw
        self.v = self.beta2 * self.v + (1 - self.beta2) * dw ** 2
        mb = self.m / (1 - self.beta1 ** self.iter)
        vb = self.v / (1 - self.beta2 ** self.iter)
        return w - self.lr * mb / (torch.sqrt(vb) + self.eps)


def sgd_step(param, grad, lr, weight_decay=0.0):
    return SGD(lr, weight_decay=weight_decay).step(param, grad)


def sgd_momentum_step(param, grad, velocity, lr, momentum=0.9, nesterov=False, weight_decay=0.0):
    opt = SGD(lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    opt.v = velocity
    new = opt.step(param, grad)
    return new, opt.v


def adagrad_step(param, grad, sum_sq, lr=0.01, eps=1e-10):
    opt = AdaGrad(lr, eps)
    opt.h = sum_sq
    return opt.step(param, grad), opt.h


def rmsprop_step(param, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
    opt = RMSprop(lr, alpha, eps)
    opt.cache = square_avg
    return opt.step(param, grad), opt.cache


def _adam_like(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay, decoupled):
    opt = Adam(lr, beta1, beta2, eps, weight_decay, decoupled)
    opt.m, opt.v = m, v
    opt.iter = t - 1  # step() counts this step
    new = opt.step(param, grad)
    return new, opt.m, opt.v


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    return _adam_like(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay, False)


def adamw_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    return _adam_like(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay, True)


class EWMA:
    def __init__(self, beta):
        self.beta = beta
        self.v = 0.0
        self.t = 0

    def update(self, x, corrected=True):
        self.t += 1
        self.v = self.beta * self.v + (1 - self.beta) * x
        if corrected:
            return self.v / (1 - self.beta ** self.t)
        return self.v


def ewma(x, beta, bias_correction=True):
    avg = EWMA(beta)
    rows = [avg.update(x[i], bias_correction) for i in range(x.shape[0])]
    if not rows:
        return x.clone()
    return torch.stack(rows).to(x.dtype)


class _Scheduler:
    def __init__(self, base_lr):
        self.base_lr = base_lr
        self.epoch = 0

    def get_lr(self):
        raise NotImplementedError


class _StepLR(_Scheduler):
    def __init__(self, base_lr, step_size, gamma):
        super().__init__(base_lr)
        self.step_size, self.gamma = step_size, gamma

    def get_lr(self):
        return self.base_lr * self.gamma ** (self.epoch // self.step_size)


def step_lr(base_lr, epoch, step_size, gamma=0.1):
    s = _StepLR(base_lr, step_size, gamma)
    s.epoch = epoch
    return float(s.get_lr())


def exponential_lr(base_lr, epoch, gamma):
    lr = base_lr
    for _ in range(epoch):
        lr = lr * gamma
    return lr


def cosine_annealing_lr(base_lr, epoch, T_max, eta_min=0.0):
    cos_inner = math.pi * epoch / T_max
    return eta_min + 0.5 * (base_lr - eta_min) * (1.0 + math.cos(cos_inner))


def inverse_time_decay_lr(base_lr, epoch, decay_rate, time_interval=1):
    k = math.floor(epoch / time_interval)
    return base_lr * 1.0 / (1.0 + decay_rate * k)


def clip_grad_norm(grads, max_norm, norm_type=2.0):
    if norm_type == float("inf"):
        total = max(g.abs().max() for g in grads)
    else:
        acc = 0.0
        for g in grads:
            acc = acc + (g.abs() ** norm_type).sum()
        total = acc ** (1.0 / norm_type)
    coef = max_norm / total
    if coef < 1:
        return [g * coef for g in grads], total
    return [g.clone() for g in grads], total


def clip_grad_value(grads, clip_value):
    return [torch.clamp(g, -clip_value, clip_value) for g in grads]
