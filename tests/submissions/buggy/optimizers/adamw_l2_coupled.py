"""In-place updates on clones; AdamW implemented as Adam with the decay in the gradient."""

import math

import torch


def sgd_step(param, grad, lr, weight_decay=0.0):
    p = param.clone()
    d_p = grad.clone()
    if weight_decay != 0:
        d_p.add_(p, alpha=weight_decay)
    p.add_(d_p, alpha=-lr)
    return p


def sgd_momentum_step(param, grad, velocity, lr, momentum=0.9, nesterov=False, weight_decay=0.0):
    p = param.clone()
    d_p = grad.clone()
    if weight_decay != 0:
        d_p.add_(p, alpha=weight_decay)
    buf = velocity.clone()
    buf.mul_(momentum).add_(d_p)
    if nesterov:
        d_p = d_p.add(buf, alpha=momentum)
    else:
        d_p = buf
    p.add_(d_p, alpha=-lr)
    return p, buf


def adagrad_step(param, grad, sum_sq, lr=0.01, eps=1e-10):
    p = param.clone()
    state_sum = sum_sq.clone()
    state_sum.addcmul_(grad, grad, value=1)
    std = state_sum.sqrt().add_(eps)
    p.addcdiv_(grad, std, value=-lr)
    return p, state_sum


def rmsprop_step(param, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
    p = param.clone()
    sq = square_avg.clone()
    sq.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    avg = sq.sqrt().add_(eps)
    p.addcdiv_(grad, avg, value=-lr)
    return p, sq


def _adam(p, g, m, v, t, lr, beta1, beta2, eps):
    exp_avg = m.clone()
    exp_avg_sq = v.clone()
    exp_avg.lerp_(g, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    bias_correction1 = 1 - beta1 ** t
    bias_correction2 = 1 - beta2 ** t
    step_size = lr / bias_correction1
    denom = (exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(eps)
    p.addcdiv_(exp_avg, denom, value=-step_size)
    return p, exp_avg, exp_avg_sq


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    p = param.clone()
    g = grad.clone()
    if weight_decay != 0:
        g.add_(p, alpha=weight_decay)
    return _adam(p, g, m, v, t, lr, beta1, beta2, eps)


def adamw_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    return adam_step(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay)


def ewma(x, beta, bias_correction=True):
    out = torch.zeros_like(x)
    v = torch.zeros_like(x[0]) if len(x) else None
    for t in range(1, x.shape[0] + 1):
        v = beta * v + (1 - beta) * x[t - 1]
        if bias_correction:
            out[t - 1] = v / (1 - beta ** t)
        else:
            out[t - 1] = v
    return out


def step_lr(base_lr, epoch, step_size, gamma=0.1):
    return base_lr * gamma ** (epoch // step_size)


def exponential_lr(base_lr, epoch, gamma):
    return base_lr * gamma ** epoch


def cosine_annealing_lr(base_lr, epoch, T_max, eta_min=0.0):
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2


def inverse_time_decay_lr(base_lr, epoch, decay_rate, time_interval=1):
    return base_lr / (1 + decay_rate * (epoch // time_interval))


def clip_grad_norm(grads, max_norm, norm_type=2.0):
    norm_type = float(norm_type)
    norms = torch.stack([torch.linalg.vector_norm(g, norm_type) for g in grads])
    total_norm = torch.linalg.vector_norm(norms, norm_type)
    clip_coef = max_norm / (total_norm + 1e-6)
    clip_coef_clamped = torch.clamp(clip_coef, max=1.0)
    out = []
    for g in grads:
        c = g.clone()
        c.mul_(clip_coef_clamped)
        out.append(c)
    return out, total_norm


def clip_grad_value(grads, clip_value):
    out = []
    for g in grads:
        c = g.clone()
        c.clamp_(min=-clip_value, max=clip_value)
        out.append(c)
    return out
