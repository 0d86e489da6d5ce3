"""numpy at the boundary; Adam without bias correction."""

import math

import numpy as np
import torch


def _np(t):
    return t.detach().cpu().numpy()


def _back(a, like):
    return torch.from_numpy(np.ascontiguousarray(a)).to(like)


def sgd_step(param, grad, lr, weight_decay=0.0):
    w, dw = _np(param), _np(grad)
    dw = dw + weight_decay * w
    return _back(w - lr * dw, param)


def sgd_momentum_step(param, grad, velocity, lr, momentum=0.9, nesterov=False, weight_decay=0.0):
    w, dw, v = _np(param), _np(grad), _np(velocity)
    dw = dw + weight_decay * w
    v = momentum * v + dw
    if nesterov:
        w = w - lr * (dw + momentum * v)
    else:
        w = w - lr * v
    return _back(w, param), _back(v, param)


def adagrad_step(param, grad, sum_sq, lr=0.01, eps=1e-10):
    w, dw, h = _np(param), _np(grad), _np(sum_sq)
    h = h + np.square(dw)
    w = w - lr * dw / (np.sqrt(h) + eps)
    return _back(w, param), _back(h, param)


def rmsprop_step(param, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
    w, dw, s = _np(param), _np(grad), _np(square_avg)
    s = alpha * s + (1 - alpha) * np.square(dw)
    w = w - lr * dw / (np.sqrt(s) + eps)
    return _back(w, param), _back(s, param)


def _adam_np(w, dw, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * (dw * dw)
    w = w - lr * m / (np.sqrt(v) + eps)
    return w, m, v


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    w = _np(param)
    dw = _np(grad) + weight_decay * w
    w, m2, v2 = _adam_np(w, dw, _np(m), _np(v), t, lr, beta1, beta2, eps)
    return _back(w, param), _back(m2, param), _back(v2, param)


def adamw_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    w = _np(param) * (1 - lr * weight_decay)
    w, m2, v2 = _adam_np(w, _np(grad), _np(m), _np(v), t, lr, beta1, beta2, eps)
    return _back(w, param), _back(m2, param), _back(v2, param)


def ewma(x, beta, bias_correction=True):
    a = _np(x)
    T = a.shape[0]
    idx = np.arange(T)
    lag = idx[:, None] - idx[None, :]  # t - s
    W = np.where(lag >= 0, (1 - beta) * np.power(beta, np.maximum(lag, 0)), 0.0)  # (T, T)
    flat = a.reshape(T, -1).astype(np.float64)
    v = W @ flat
    if bias_correction:
        v = v / (1 - np.power(beta, idx + 1.0))[:, None]
    return _back(v.reshape(a.shape), x)


def step_lr(base_lr, epoch, step_size, gamma=0.1):
    return float(base_lr * np.power(gamma, epoch // step_size))


def exponential_lr(base_lr, epoch, gamma):
    return float(base_lr * np.power(gamma, epoch))


def cosine_annealing_lr(base_lr, epoch, T_max, eta_min=0.0):
    return float(eta_min + (base_lr - eta_min) * (1 + np.cos(np.pi * epoch / T_max)) / 2)


def inverse_time_decay_lr(base_lr, epoch, decay_rate, time_interval=1):
    return float(base_lr / (1 + decay_rate * np.floor(epoch / time_interval)))


def clip_grad_norm(grads, max_norm, norm_type=2.0):
    arrays = [_np(g).astype(np.float64) for g in grads]
    flat = np.concatenate([a.ravel() for a in arrays])
    if np.isinf(norm_type):
        total = np.abs(flat).max()
    else:
        total = np.sum(np.abs(flat) ** norm_type) ** (1.0 / norm_type)
    scale = min(1.0, max_norm / (total + 1e-6))
    clipped = [_back(a * scale, g) for a, g in zip(arrays, grads)]
    return clipped, torch.tensor(total, dtype=grads[0].dtype, device=grads[0].device)


def clip_grad_value(grads, clip_value):
    return [_back(np.clip(_np(g), -clip_value, clip_value), g) for g in grads]
