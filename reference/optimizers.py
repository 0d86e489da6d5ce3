"""Reference implementation of the ``optimizers`` assignment.

One step of the classic update rules, learning-rate schedules and gradient
clipping, written as pure functions with elementary tensor ops only (no
``torch.optim``, ``torch.nn.utils``, ``torch._foreach_*``,
``torch.nn.functional`` or autograd).  Every function returns new tensors and
never modifies its inputs; tensors keep the input's dtype and device.

Semantics are those of one ``step()`` of ``torch.optim`` (PyTorch 2.x
documentation, "Algorithms" sections of SGD, Adagrad, RMSprop, Adam, AdamW)
with the state passed in and returned explicitly:

* SGD with momentum (Sutskever et al., 2013, in PyTorch's form, dampening 0):
  v = mu v + g, step = g + mu v (Nesterov) or v, p = p - lr step.
* Adagrad (Duchi, Hazan & Singer, 2011): s = s + g^2, p = p - lr g / (sqrt(s) + eps).
* RMSProp (Hinton, Coursera lecture 6e, 2012): a = alpha a + (1 - alpha) g^2,
  p = p - lr g / (sqrt(a) + eps).
* Adam (Kingma & Ba, 2015, Algorithm 1) with L2 weight decay folded into g.
* AdamW (Loshchilov & Hutter, 2019) with PyTorch's decoupled decay
  p = p (1 - lr wd) before the Adam update.
* EWMA with bias correction (Kingma & Ba, 2015, section 3; Ng, *Improving
  Deep Neural Networks*, week 2).
* Schedules: closed forms of ``torch.optim.lr_scheduler.StepLR``,
  ``ExponentialLR`` and ``CosineAnnealingLR`` (SGDR, Loshchilov & Hutter,
  2017, without restarts); inverse-time decay as in Keras'
  ``InverseTimeDecay(staircase=True)``.
* Clipping: ``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_``.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "sgd_step",
    "sgd_momentum_step",
    "adagrad_step",
    "rmsprop_step",
    "adam_step",
    "adamw_step",
    "ewma",
    "step_lr",
    "exponential_lr",
    "cosine_annealing_lr",
    "inverse_time_decay_lr",
    "clip_grad_norm",
    "clip_grad_value",
]


# --------------------------------------------------------------------------- update rules


def _decayed_grad(param: torch.Tensor, grad: torch.Tensor, weight_decay: float) -> torch.Tensor:
    """g = grad + wd * param (L2 penalty folded into the gradient); a new tensor."""
    if weight_decay == 0:
        return grad.clone()  # (...)
    return grad + weight_decay * param  # (...)


def sgd_step(param: torch.Tensor, grad: torch.Tensor, lr: float, weight_decay: float = 0.0) -> torch.Tensor:
    """One step of plain SGD (``torch.optim.SGD``, momentum 0).

    g = grad + weight_decay * param;  param_new = param - lr * g.

    Args:
        param: parameter, any shape, float32/float64.
        grad: gradient of the loss at ``param``, same shape/dtype/device.
        lr: learning rate.
        weight_decay: L2 penalty coefficient (0 disables it).

    Returns:
        The new parameter (a new tensor like ``param``).
    """
    g = _decayed_grad(param, grad, weight_decay)  # (...)
    return param - lr * g  # (...)


def sgd_momentum_step(param: torch.Tensor, grad: torch.Tensor, velocity: torch.Tensor, lr: float,
                      momentum: float = 0.9, nesterov: bool = False,
                      weight_decay: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of SGD with (Nesterov) momentum, PyTorch's convention (dampening 0).

    g = grad + wd * param;  v = momentum * v + g;
    step = g + momentum * v if nesterov else v;  param_new = param - lr * step.

    The velocity starts at zeros, so the first step gives v = g, exactly what
    ``torch.optim.SGD`` does when it creates its momentum buffer.

    Args:
        param: parameter, any shape, float32/float64.
        grad: gradient at ``param``, like ``param``.
        velocity: the momentum buffer from the previous step, like ``param``.
        lr: learning rate.
        momentum: momentum factor mu.
        nesterov: use Nesterov's look-ahead form.
        weight_decay: L2 penalty coefficient.

    Returns:
        (param_new, velocity_new), new tensors like ``param``.
    """
    g = _decayed_grad(param, grad, weight_decay)  # (...)
    v = momentum * velocity + g  # (...)
    step = g + momentum * v if nesterov else v  # (...)
    return param - lr * step, v  # (...), (...)


def adagrad_step(param: torch.Tensor, grad: torch.Tensor, sum_sq: torch.Tensor, lr: float = 0.01,
                 eps: float = 1e-10) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of Adagrad (``torch.optim.Adagrad``, no lr decay, no weight decay).

    sum_sq_new = sum_sq + g^2;  param_new = param - lr * g / (sqrt(sum_sq_new) + eps).

    Args:
        param: parameter, any shape, float32/float64.
        grad: gradient at ``param``, like ``param``.
        sum_sq: running *sum* of squared gradients (starts at zeros), like ``param``.
        lr: learning rate.
        eps: added to the square root (outside it), against division by zero.

    Returns:
        (param_new, sum_sq_new), new tensors like ``param``.
    """
    s = sum_sq + grad * grad  # (...)
    return param - lr * grad / (torch.sqrt(s) + eps), s  # (...), (...)


def rmsprop_step(param: torch.Tensor, grad: torch.Tensor, square_avg: torch.Tensor, lr: float = 0.01,
                 alpha: float = 0.99, eps: float = 1e-8) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of RMSProp (``torch.optim.RMSprop``, not centered, no momentum).

    a = alpha * a + (1 - alpha) * g^2;  param_new = param - lr * g / (sqrt(a) + eps).

    Args:
        param: parameter, any shape, float32/float64.
        grad: gradient at ``param``, like ``param``.
        square_avg: moving average of g^2 (starts at zeros), like ``param``.
        lr: learning rate.
        alpha: smoothing constant: the weight of the *old* average.
        eps: added to the square root (outside it).

    Returns:
        (param_new, square_avg_new), new tensors like ``param``.
    """
    a = alpha * square_avg + (1.0 - alpha) * (grad * grad)  # (...)
    return param - lr * grad / (torch.sqrt(a) + eps), a  # (...), (...)


def _adam_update(param, g, m, v, t, lr, beta1, beta2, eps):
    """Shared Adam moment update; returns (param_new, m_new, v_new)."""
    if t < 1:
        raise ValueError(f"t is the number of this step and starts at 1, got {t}")
    m_new = beta1 * m + (1.0 - beta1) * g  # (...)
    v_new = beta2 * v + (1.0 - beta2) * (g * g)  # (...)
    m_hat = m_new / (1.0 - beta1 ** t)  # (...)
    v_hat = v_new / (1.0 - beta2 ** t)  # (...)
    return param - lr * m_hat / (torch.sqrt(v_hat) + eps), m_new, v_new  # (...) x3


def adam_step(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int,
              lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
              weight_decay: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of Adam (``torch.optim.Adam``: weight decay as an L2 term in g).

    g = grad + wd * param;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    m_hat = m / (1 - b1^t);  v_hat = v / (1 - b2^t);
    param_new = param - lr * m_hat / (sqrt(v_hat) + eps).

    Args:
        param: parameter, any shape, float32/float64.
        grad: gradient at ``param``, like ``param``.
        m, v: first and second moment estimates (start at zeros), like ``param``.
        t: the number of this step, starting at 1.
        lr, beta1, beta2, eps, weight_decay: hyper-parameters as in ``torch.optim.Adam``.

    Returns:
        (param_new, m_new, v_new), new tensors like ``param``.

    Raises:
        ValueError: ``t < 1``.
    """
    g = _decayed_grad(param, grad, weight_decay)  # (...)
    return _adam_update(param, g, m, v, t, lr, beta1, beta2, eps)


def adamw_step(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int,
               lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
               weight_decay: float = 0.01) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of AdamW (``torch.optim.AdamW``: decoupled weight decay).

    param <- param * (1 - lr * wd) first; then the Adam step with g = grad
    (the decay never enters m or v).

    Args: as :func:`adam_step` (``weight_decay`` defaults to 0.01).

    Returns:
        (param_new, m_new, v_new), new tensors like ``param``.

    Raises:
        ValueError: ``t < 1``.
    """
    decayed = param * (1.0 - lr * weight_decay)  # (...)
    return _adam_update(decayed, grad, m, v, t, lr, beta1, beta2, eps)


# --------------------------------------------------------------------------- moving average


def ewma(x: torch.Tensor, beta: float, bias_correction: bool = True) -> torch.Tensor:
    """Exponentially weighted moving average along dim 0.

    v_0 = 0;  v_t = beta * v_{t-1} + (1 - beta) * x_t  (t = 1..T, x_t = x[t-1]);
    with bias correction the output at t is v_t / (1 - beta^t).  The
    recursion always uses the *uncorrected* v_{t-1}.

    Args:
        x: (T, ...) float32/float64, T >= 0.
        beta: weight of the past, in [0, 1).
        bias_correction: divide by 1 - beta^t.

    Returns:
        Tensor like ``x`` (T, ...), same dtype and device.
    """
    out = torch.empty_like(x)  # (T, ...)
    v = torch.zeros_like(x[0]) if x.shape[0] > 0 else None  # (...)
    for i in range(x.shape[0]):
        v = beta * v + (1.0 - beta) * x[i]  # (...)
        out[i] = v / (1.0 - beta ** (i + 1)) if bias_correction else v  # (...)
    return out


# --------------------------------------------------------------------------- schedules


def step_lr(base_lr: float, epoch: int, step_size: int, gamma: float = 0.1) -> float:
    """``StepLR``: base_lr * gamma^(epoch // step_size), a Python float."""
    return float(base_lr * gamma ** (epoch // step_size))


def exponential_lr(base_lr: float, epoch: int, gamma: float) -> float:
    """``ExponentialLR``: base_lr * gamma^epoch, a Python float."""
    return float(base_lr * gamma ** epoch)


def cosine_annealing_lr(base_lr: float, epoch: int, T_max: int, eta_min: float = 0.0) -> float:
    """``CosineAnnealingLR`` (closed form): eta_min + (base_lr - eta_min)(1 + cos(pi epoch / T_max)) / 2."""
    return float(eta_min + (base_lr - eta_min) * (1.0 + math.cos(math.pi * epoch / T_max)) / 2.0)


def inverse_time_decay_lr(base_lr: float, epoch: int, decay_rate: float, time_interval: int = 1) -> float:
    """Inverse-time decay (staircase): base_lr / (1 + decay_rate * (epoch // time_interval)), a Python float."""
    return float(base_lr / (1.0 + decay_rate * (epoch // time_interval)))


# --------------------------------------------------------------------------- clipping


def _total_norm(grads: list[torch.Tensor], norm_type: float) -> torch.Tensor:
    """The norm of the concatenation of all grads, as a 0-d tensor (scaled by the max: no overflow)."""
    like = grads[0]
    peaks = torch.stack([g.detach().abs().amax() if g.numel() else
                         torch.zeros((), dtype=g.dtype, device=g.device) for g in grads])  # (K,)
    peak = peaks.amax()  # () largest |entry|
    if math.isinf(norm_type):
        return peak.to(device=like.device)
    safe = torch.where(peak > 0, peak, torch.ones((), dtype=peak.dtype, device=peak.device))  # ()
    p = float(norm_type)
    powsum = torch.zeros((), dtype=like.dtype, device=like.device)  # ()
    for g in grads:
        powsum = powsum + ((g.abs() / safe) ** p).sum()  # ()
    return torch.where(peak > 0, safe * powsum ** (1.0 / p), torch.zeros_like(peak))  # ()


def clip_grad_norm(grads: list[torch.Tensor], max_norm: float,
                   norm_type: float = 2.0) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Rescale all gradients together so their global norm is at most ``max_norm``.

    total_norm = || concat(grads) ||_p (p = norm_type; inf: the largest |entry|);
    coef = max_norm / (total_norm + 1e-6); every grad is multiplied by
    min(coef, 1) -- as ``torch.nn.utils.clip_grad_norm_``, without modifying
    the inputs.

    Args:
        grads: non-empty list of tensors of any shapes (same dtype/device).
        max_norm: the largest allowed global norm.
        norm_type: p of the p-norm (``float("inf")`` for the max norm).

    Returns:
        (list of clipped grads, total_norm as a 0-d tensor of the grads' dtype),
        the norm measured *before* clipping.
    """
    total = _total_norm(grads, norm_type)  # ()
    coef = max_norm / (total + 1e-6)  # ()
    scale = torch.where(coef < 1.0, coef, torch.ones_like(coef))  # () min(coef, 1)
    return [g * scale for g in grads], total


def clip_grad_value(grads: list[torch.Tensor], clip_value: float) -> list[torch.Tensor]:
    """Clamp every gradient entry to [-clip_value, clip_value] (``torch.nn.utils.clip_grad_value_``).

    Args:
        grads: list of tensors of any shapes.
        clip_value: the largest allowed |entry| (> 0).

    Returns:
        List of new tensors like the inputs.
    """
    c = float(clip_value)
    return [torch.where(g > c, torch.full_like(g, c), torch.where(g < -c, torch.full_like(g, -c), g))
            for g in grads]
