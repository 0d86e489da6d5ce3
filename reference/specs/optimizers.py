"""Grading spec for the ``optimizers`` assignment (update rules, schedules, clipping).

Update rules are graded two ways:

* plain one-step cases: first steps (state at zeros) and carried-over state,
  t = 1 and t large for Adam, weight decay and Nesterov on and off, zero
  gradients, gradients of 1e4, tiny gradients (where epsilon matters);
* trajectory cases (:class:`grader.spec.Trajectory`): 200 steps, float64, on
  a fixed ill-conditioned quadratic (eigenvalues 1e-2 .. 1e2) and on the
  Rosenbrock function, the gradient computed by the grader at every step and
  the state fed back.  The first call's ``grad`` is the objective's own
  gradient at the start, so a grader without trajectory support grades the
  case as one plain step.

Hyper-parameters are chosen so that every named mistake shows: a bias
correction mistake shows at step 1; epsilon placement only matters when
sqrt(v) is comparable to eps, hence the cases with tiny gradients or a large
eps; AdamW's "decay after the update" differs by lr^2 * wd * update, hence a
large lr and wd.  Schedules return Python floats and run once (``"float64"``).

Semantics: one ``step()`` of ``torch.optim`` (see the oracles), schedules in
the closed forms of ASSIGNMENTS.md, clipping as ``torch.nn.utils``.  Mistake
variants are written out here (the spec never imports the reference).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from grader.spec import (
    Assignment,
    Case,
    Function,
    Mistake,
    Quadratic,
    Rosenbrock,
    Tolerance,
    Trajectory,
    call,
    randn,
    as_dtype as _dt,
    tensor as _tensor,
    with_zeros as _with_zeros,
    Axis,
    AUTODIFF,
)

_F64 = ("float64",)

# --------------------------------------------------------------------------- objectives

#: 4x4 symmetric positive definite, eigenvalues ~ 100, 5, 0.3, 0.01 (condition number 1e4),
#: rotated so that no coordinate is an eigen-direction.
_A = (
    (16.18226, -18.59213, 25.44267, -12.89394),
    (-18.59213, 26.14702, -33.43594, 20.94868),
    (25.44267, -33.43594, 43.87328, -26.05264),
    (-12.89394, 20.94868, -26.05264, 19.10744),
)
#: b = A x* with x* ~ (1, -2, 0.5, 1.5).
_B = (46.74694, -56.18112, 75.17223, -39.15646)
QUAD = Quadratic(A=_A, b=_B)
#: The same quadratic scaled by 1e-4: gradients of ~1e-3 down to ~1e-7, where eps matters.
QUAD_TINY = Quadratic(A=tuple(tuple(a * 1e-4 for a in row) for row in _A), b=tuple(b * 1e-4 for b in _B))
ROSEN = Rosenbrock()

_QUAD_START = (0.0, 0.0, 0.0, 0.0)
_ROSEN_START = (-1.2, 1.0, -1.2, 1.0)


def _start(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def _grad_at(objective, p: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.asarray(objective.grad(p.numpy()), dtype=np.float64).copy())


def _traj_make(objective, start, state=(), **hyper):
    """make(g, dt) for a trajectory case: param at ``start``, grad = the objective's gradient there,
    every state tensor in ``state`` at zeros, hyper-parameters as keywords."""

    def make(g, dt):
        p = _start(start)
        kw = {"param": p, "grad": _grad_at(objective, p)}
        for name in state:
            kw[name] = torch.zeros_like(p)
        kw.update(hyper)
        return call(**kw)

    return make


def _traj(objective, carry=None, param_out=0, step=None):
    return Trajectory(objective=objective, steps=200, param="param", grad="grad", carry=dict(carry or {}),
                      param_out=param_out, step=step)


def _traj_case(cid, objective, start, *, carry=None, param_out=0, step=None, state=(), points=2.0, hidden=False,
               description="", **hyper):
    return Case(cid, _traj_make(objective, start, state, **hyper), points=points, hidden=hidden, dtypes=_F64,
                description=description,
                trajectory=_traj(objective, carry=carry, param_out=param_out, step=step))


# --------------------------------------------------------------------------- input helpers


def _pos(g, shape, dt, scale=1.0):
    """A nonnegative state tensor (sums / averages of squares)."""
    return (randn(g, shape, torch.float64, scale=scale) ** 2).to(_dt(dt))


# --------------------------------------------------------------------------- mistakes: update rules


def _sgd_weight_decay_ignored(param, grad, lr, weight_decay=0.0):
    return param - lr * grad


def _sgd_decay_not_scaled_by_lr(param, grad, lr, weight_decay=0.0):
    return param * (1 - weight_decay) - lr * grad


def _momentum_cs231n_form(param, grad, velocity, lr, momentum=0.9, nesterov=False, weight_decay=0.0):
    g = grad + weight_decay * param
    v = momentum * velocity - lr * g
    if nesterov:
        return param - momentum * velocity + (1 + momentum) * v, v
    return param + v, v


def _nesterov_as_momentum(param, grad, velocity, lr, momentum=0.9, nesterov=False, weight_decay=0.0):
    g = grad + weight_decay * param
    v = momentum * velocity + g
    return param - lr * v, v


def _momentum_dampened(param, grad, velocity, lr, momentum=0.9, nesterov=False, weight_decay=0.0):
    g = grad + weight_decay * param
    v = momentum * velocity + (1 - momentum) * g
    step = g + momentum * v if nesterov else v
    return param - lr * step, v


def _adagrad_averaged(param, grad, sum_sq, lr=0.01, eps=1e-10):
    s = (sum_sq + grad * grad) / 2
    return param - lr * grad / (s.sqrt() + eps), s


def _adagrad_eps_inside_sqrt(param, grad, sum_sq, lr=0.01, eps=1e-10):
    s = sum_sq + grad * grad
    return param - lr * grad / (s + eps).sqrt(), s


def _adagrad_stale_sum(param, grad, sum_sq, lr=0.01, eps=1e-10):
    new = param - lr * grad / (sum_sq.sqrt() + eps)
    return new, sum_sq + grad * grad


def _rmsprop_eps_inside_sqrt(param, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
    a = alpha * square_avg + (1 - alpha) * grad * grad
    return param - lr * grad / (a + eps).sqrt(), a


def _rmsprop_alpha_swapped(param, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
    a = (1 - alpha) * square_avg + alpha * grad * grad
    return param - lr * grad / (a.sqrt() + eps), a


def _adam_core(param, g, m, v, t, lr, beta1, beta2, eps, *, correct=True, t_eff=None, eps_inside=False,
               return_hat=False):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    te = t if t_eff is None else t_eff
    if correct:
        m_hat = m / (1 - beta1 ** te)
        v_hat = v / (1 - beta2 ** te)
    else:
        m_hat, v_hat = m, v
    den = (v_hat + eps).sqrt() if eps_inside else v_hat.sqrt() + eps
    new = param - lr * m_hat / den
    return (new, m_hat, v_hat) if return_hat else (new, m, v)


def _adam_no_bias_correction(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    return _adam_core(param, grad + weight_decay * param, m, v, t, lr, beta1, beta2, eps, correct=False)


def _adam_t_from_zero(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    return _adam_core(param, grad + weight_decay * param, m, v, t, lr, beta1, beta2, eps, t_eff=t - 1)


def _adam_eps_inside_sqrt(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    return _adam_core(param, grad + weight_decay * param, m, v, t, lr, beta1, beta2, eps, eps_inside=True)


def _adam_returns_corrected_moments(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                                    weight_decay=0.0):
    return _adam_core(param, grad + weight_decay * param, m, v, t, lr, beta1, beta2, eps, return_hat=True)


def _adam_decay_decoupled(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    return _adam_core(param * (1 - lr * weight_decay), grad, m, v, t, lr, beta1, beta2, eps)


def _adamw_no_bias_correction(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                              weight_decay=0.01):
    return _adam_core(param * (1 - lr * weight_decay), grad, m, v, t, lr, beta1, beta2, eps, correct=False)


def _adamw_t_from_zero(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    return _adam_core(param * (1 - lr * weight_decay), grad, m, v, t, lr, beta1, beta2, eps, t_eff=t - 1)


def _adamw_eps_inside_sqrt(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    return _adam_core(param * (1 - lr * weight_decay), grad, m, v, t, lr, beta1, beta2, eps, eps_inside=True)


def _adamw_returns_corrected_moments(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                                     weight_decay=0.01):
    return _adam_core(param * (1 - lr * weight_decay), grad, m, v, t, lr, beta1, beta2, eps, return_hat=True)


def _adamw_l2_coupled(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    return _adam_core(param, grad + weight_decay * param, m, v, t, lr, beta1, beta2, eps)


def _adamw_decay_after_update(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    new, m, v = _adam_core(param, grad, m, v, t, lr, beta1, beta2, eps)
    return new * (1 - lr * weight_decay), m, v


def _adamw_decay_not_scaled_by_lr(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                                  weight_decay=0.01):
    return _adam_core(param * (1 - weight_decay), grad, m, v, t, lr, beta1, beta2, eps)


# --------------------------------------------------------------------------- mistakes: EWMA


def _ewma_loop(x, beta, *, start_at_x0=False, correct=True, recurse_on_corrected=False):
    out = torch.empty_like(x)
    v = torch.zeros_like(x[0])
    for i in range(x.shape[0]):
        if start_at_x0 and i == 0:
            v = x[0].clone()
            out[0] = v
            continue
        v = beta * v + (1 - beta) * x[i]
        if correct:
            v_hat = v / (1 - beta ** (i + 1))
            out[i] = v_hat
            if recurse_on_corrected:
                v = v_hat
        else:
            out[i] = v
    return out


def _ewma_no_bias_correction(x, beta, bias_correction=True):
    return _ewma_loop(x, beta, correct=False)


def _ewma_v0_is_x0(x, beta, bias_correction=True):
    return _ewma_loop(x, beta, start_at_x0=True, correct=False)


def _ewma_recursion_on_corrected(x, beta, bias_correction=True):
    return _ewma_loop(x, beta, correct=bias_correction, recurse_on_corrected=True)


# --------------------------------------------------------------------------- mistakes: schedules


def _step_lr_no_floor(base_lr, epoch, step_size, gamma=0.1):
    return base_lr * gamma ** (epoch / step_size)


def _exponential_lr_off_by_one(base_lr, epoch, gamma):
    return base_lr * gamma ** (epoch + 1)


def _cosine_t_max_off_by_one(base_lr, epoch, T_max, eta_min=0.0):
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * epoch / (T_max - 1))) / 2


def _cosine_eta_min_ignored(base_lr, epoch, T_max, eta_min=0.0):
    return base_lr * (1 + math.cos(math.pi * epoch / T_max)) / 2


def _inverse_time_no_floor(base_lr, epoch, decay_rate, time_interval=1):
    return base_lr / (1 + decay_rate * epoch / time_interval)


# --------------------------------------------------------------------------- mistakes: clipping


def _pnorm(g, p):
    if math.isinf(p):
        return g.abs().max()
    return (g.abs() ** p).sum() ** (1.0 / p)


def _global_norm(grads, p):
    if math.isinf(p):
        return torch.stack([g.abs().max() for g in grads]).max()
    return sum((g.abs() ** p).sum() for g in grads) ** (1.0 / p)


def _clip_per_tensor(grads, max_norm, norm_type=2.0):
    out = []
    for g in grads:
        c = max_norm / (_pnorm(g, norm_type) + 1e-6)
        out.append(g * c if c < 1 else g.clone())
    return out, _global_norm(grads, norm_type)


def _clip_no_eps(grads, max_norm, norm_type=2.0):
    total = _global_norm(grads, norm_type)
    c = max_norm / total
    return [g * c if c < 1 else g.clone() for g in grads], total


def _clip_scales_up(grads, max_norm, norm_type=2.0):
    total = _global_norm(grads, norm_type)
    c = max_norm / (total + 1e-6)
    return [g * c for g in grads], total


def _clip_inf_norm_not_handled(grads, max_norm, norm_type=2.0):
    p = float(norm_type)
    total = sum((g.abs() ** p).sum() for g in grads) ** (1.0 / p)
    c = max_norm / (total + 1e-6)
    return [g * c if c < 1 else g.clone() for g in grads], total


def _clip_sum_of_norms(grads, max_norm, norm_type=2.0):
    total = sum(_pnorm(g, norm_type) for g in grads)
    c = max_norm / (total + 1e-6)
    return [g * c if c < 1 else g.clone() for g in grads], total


def _clip_value_upper_only(grads, clip_value):
    return [torch.where(g > clip_value, torch.full_like(g, clip_value), g) for g in grads]


# --------------------------------------------------------------------------- oracles (torch.optim, one step)


def _optim_step(cls, param, grad, state: dict, **hyper):
    """One ``step()`` of a torch optimizer on a leaf clone of ``param`` with ``state`` loaded."""
    p = param.detach().clone().requires_grad_(True)
    opt = cls([p], foreach=False, **hyper)
    opt.state[p].update({k: v.detach().clone() for k, v in state.items()})
    p.grad = grad.detach().clone()
    opt.step()
    st = opt.state[p]
    return p.detach(), st


def _oracle_sgd(param, grad, lr, weight_decay=0.0):
    return _optim_step(torch.optim.SGD, param, grad, {}, lr=lr, weight_decay=weight_decay)[0]


def _oracle_momentum(param, grad, velocity, lr, momentum=0.9, nesterov=False, weight_decay=0.0):
    p, st = _optim_step(torch.optim.SGD, param, grad, {"momentum_buffer": velocity}, lr=lr, momentum=momentum,
                        nesterov=nesterov, weight_decay=weight_decay)
    return p, st["momentum_buffer"]


def _oracle_adagrad(param, grad, sum_sq, lr=0.01, eps=1e-10):
    p, st = _optim_step(torch.optim.Adagrad, param, grad, {"sum": sum_sq, "step": torch.tensor(0.0)}, lr=lr,
                        eps=eps)
    return p, st["sum"]


def _oracle_rmsprop(param, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
    p, st = _optim_step(torch.optim.RMSprop, param, grad, {"square_avg": square_avg, "step": torch.tensor(0.0)},
                        lr=lr, alpha=alpha, eps=eps)
    return p, st["square_avg"]


def _oracle_adam_like(cls, param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    p, st = _optim_step(cls, param, grad, {"exp_avg": m, "exp_avg_sq": v, "step": torch.tensor(float(t - 1))},
                        lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    return p, st["exp_avg"], st["exp_avg_sq"]


def _oracle_adam(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    return _oracle_adam_like(torch.optim.Adam, param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay)


def _oracle_adamw(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    return _oracle_adam_like(torch.optim.AdamW, param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay)


def _oracle_ewma(x, beta, bias_correction=True):
    from scipy.signal import lfilter

    a = x.detach().cpu().double().numpy()
    v = lfilter([1.0 - beta], [1.0, -beta], a, axis=0)  # v_t = beta v_{t-1} + (1 - beta) x_t, v_0 = 0
    if bias_correction:
        t = np.arange(1, a.shape[0] + 1, dtype=np.float64).reshape((-1,) + (1,) * (a.ndim - 1))
        v = v / (1.0 - beta ** t)
    return torch.from_numpy(np.ascontiguousarray(v)).to(x)


def _run_scheduler(make_sched, base_lr, epoch):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make_sched(opt)
    for _ in range(epoch):
        opt.step()
        sched.step()
    return float(sched.get_last_lr()[0])


def _oracle_step_lr(base_lr, epoch, step_size, gamma=0.1):
    from torch.optim.lr_scheduler import StepLR

    return _run_scheduler(lambda o: StepLR(o, step_size=step_size, gamma=gamma), base_lr, epoch)


def _oracle_exponential_lr(base_lr, epoch, gamma):
    from torch.optim.lr_scheduler import ExponentialLR

    return _run_scheduler(lambda o: ExponentialLR(o, gamma=gamma), base_lr, epoch)


def _oracle_cosine(base_lr, epoch, T_max, eta_min=0.0):
    from torch.optim.lr_scheduler import CosineAnnealingLR

    return _run_scheduler(lambda o: CosineAnnealingLR(o, T_max=T_max, eta_min=eta_min), base_lr, epoch)


def _oracle_clip_norm(grads, max_norm, norm_type=2.0):
    ps = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for p, g in zip(ps, grads):
        p.grad = g.detach().clone()
    total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type, foreach=False)
    return [p.grad for p in ps], total


def _oracle_clip_value(grads, clip_value):
    ps = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for p, g in zip(ps, grads):
        p.grad = g.detach().clone()
    torch.nn.utils.clip_grad_value_(ps, clip_value, foreach=False)
    return [p.grad for p in ps]


# --------------------------------------------------------------------------- cases: update rules

_SGD_CASES = (
    Case("small", lambda g, dt: call(randn(g, (4, 5), dt), randn(g, (4, 5), dt), 0.1),
         description="4x5 parameter, lr 0.1, no weight decay"),
    Case("weight_decay", lambda g, dt: call(randn(g, (3, 6), dt), randn(g, (3, 6), dt), 0.05, weight_decay=0.1),
         points=2.0, description="weight_decay 0.1 (g = grad + wd * param)"),
    Case("zero_grad_decay", lambda g, dt: call(randn(g, (5,), dt), torch.zeros(5, dtype=_dt(dt)), 0.5,
                                               weight_decay=0.2),
         description="zero gradient: only the weight decay moves the parameter"),
    Case("grad_1e4", lambda g, dt: call(randn(g, (2, 3), dt), randn(g, (2, 3), dt, scale=1e4), 1e-3),
         description="gradients of ~1e4"),
    _traj_case("traj_quadratic", QUAD, _QUAD_START, param_out=None, lr=0.015,
               description="200 steps on an ill-conditioned quadratic (eigenvalues 1e-2..1e2), lr 0.015"),
    _traj_case("traj_rosenbrock_decay", ROSEN, _ROSEN_START, param_out=None, lr=1e-3, weight_decay=0.01,
               description="200 steps on the 4-D Rosenbrock function from (-1.2, 1, -1.2, 1), lr 1e-3, "
                           "weight_decay 0.01"),
    Case("hidden_3d_decay", lambda g, dt: call(randn(g, (2, 3, 4), dt), randn(g, (2, 3, 4), dt), 0.01,
                                               weight_decay=5e-4),
         hidden=True, points=2.0, description="3-D parameter, weight_decay 5e-4"),
    _traj_case("hidden_traj_quadratic_decay", QUAD, _QUAD_START, param_out=None, hidden=True, lr=0.01,
               weight_decay=0.5, description="200 steps on the quadratic with weight_decay 0.5"),
)

_MOMENTUM_CASES = (
    Case("first_step", lambda g, dt: call(randn(g, (4, 5), dt), randn(g, (4, 5), dt),
                                          torch.zeros(4, 5, dtype=_dt(dt)), 0.1),
         description="velocity at zeros (first step), momentum 0.9"),
    Case("carried", lambda g, dt: call(randn(g, (3, 4), dt), randn(g, (3, 4), dt), randn(g, (3, 4), dt), 0.05,
                                       momentum=0.8),
         points=2.0, description="velocity carried over from earlier steps, momentum 0.8"),
    Case("nesterov", lambda g, dt: call(randn(g, (3, 4), dt), randn(g, (3, 4), dt), randn(g, (3, 4), dt), 0.05,
                                        momentum=0.9, nesterov=True),
         points=2.0, description="Nesterov momentum, velocity carried over"),
    Case("nesterov_decay", lambda g, dt: call(randn(g, (6,), dt), randn(g, (6,), dt), randn(g, (6,), dt), 0.1,
                                              momentum=0.9, nesterov=True, weight_decay=0.01),
         description="Nesterov with weight decay 0.01"),
    Case("zero_grad", lambda g, dt: call(randn(g, (5,), dt), torch.zeros(5, dtype=_dt(dt)), randn(g, (5,), dt),
                                         0.1),
         description="zero gradient: the parameter coasts on its velocity"),
    Case("grad_1e4", lambda g, dt: call(randn(g, (2, 3), dt), randn(g, (2, 3), dt, scale=1e4),
                                        randn(g, (2, 3), dt, scale=1e3), 1e-4, nesterov=True),
         description="gradients of ~1e4, Nesterov"),
    _traj_case("traj_quadratic", QUAD, _QUAD_START, carry={"velocity": 1}, state=("velocity",), lr=0.005,
               momentum=0.9, description="200 steps on the ill-conditioned quadratic, lr 5e-3, momentum 0.9"),
    _traj_case("traj_quadratic_nesterov", QUAD, _QUAD_START, carry={"velocity": 1}, state=("velocity",), lr=0.005,
               momentum=0.9, nesterov=True, description="the same with Nesterov momentum"),
    _traj_case("traj_rosenbrock", ROSEN, _ROSEN_START, carry={"velocity": 1}, state=("velocity",), lr=2e-4,
               momentum=0.9, description="200 steps on Rosenbrock, lr 2e-4, momentum 0.9"),
    Case("hidden_carried_decay", lambda g, dt: call(randn(g, (2, 3, 2), dt), randn(g, (2, 3, 2), dt),
                                                    randn(g, (2, 3, 2), dt), 0.02, momentum=0.95,
                                                    weight_decay=1e-3),
         hidden=True, points=2.0, description="3-D, momentum 0.95, weight decay"),
    _traj_case("hidden_traj_rosenbrock_nesterov", ROSEN, _ROSEN_START, carry={"velocity": 1}, state=("velocity",),
               hidden=True, lr=2e-4, momentum=0.9, nesterov=True, weight_decay=0.01,
               description="Rosenbrock, Nesterov, weight decay 0.01"),
)

_ADAGRAD_CASES = (
    Case("first_step", lambda g, dt: call(randn(g, (4, 5), dt), randn(g, (4, 5), dt),
                                          torch.zeros(4, 5, dtype=_dt(dt)), lr=0.1),
         description="sum of squares at zeros (first step): every entry moves by ~lr"),
    Case("carried", lambda g, dt: call(randn(g, (3, 4), dt), randn(g, (3, 4), dt), _pos(g, (3, 4), dt, 2.0),
                                       lr=0.05),
         points=2.0, description="sum of squares carried over"),
    Case("zero_grads", lambda g, dt: call(randn(g, (6,), dt), _with_zeros(g, randn(g, (6,), dt), 0.5),
                                          torch.zeros(6, dtype=_dt(dt)), lr=0.1),
         description="some gradient entries exactly 0 with a zero sum (0 / eps must give 0)"),
    Case("large_eps", lambda g, dt: call(randn(g, (5,), dt), randn(g, (5,), dt, scale=0.01), _pos(g, (5,), dt, 0.01),
                                         lr=0.1, eps=0.1),
         description="small gradients and eps = 0.1: where eps goes matters"),
    Case("grad_1e4", lambda g, dt: call(randn(g, (2, 3), dt), randn(g, (2, 3), dt, scale=1e4),
                                        _pos(g, (2, 3), dt, 1e4), lr=0.01),
         description="gradients of ~1e4"),
    _traj_case("traj_quadratic", QUAD, _QUAD_START, carry={"sum_sq": 1}, state=("sum_sq",), lr=0.5,
               description="200 steps on the ill-conditioned quadratic, lr 0.5"),
    _traj_case("traj_rosenbrock", ROSEN, _ROSEN_START, carry={"sum_sq": 1}, state=("sum_sq",), lr=0.1,
               description="200 steps on Rosenbrock, lr 0.1"),
    _traj_case("traj_tiny_eps", QUAD_TINY, _QUAD_START, carry={"sum_sq": 1}, state=("sum_sq",), lr=0.5, eps=1e-3,
               description="200 steps on the quadratic scaled by 1e-4 with eps 1e-3 (eps comparable to sqrt(sum))"),
    Case("hidden_carried_3d", lambda g, dt: call(randn(g, (2, 2, 3), dt), randn(g, (2, 2, 3), dt),
                                                 _pos(g, (2, 2, 3), dt), lr=0.02, eps=1e-6),
         hidden=True, points=2.0, description="3-D, eps 1e-6"),
    _traj_case("hidden_traj_rosenbrock", ROSEN, _ROSEN_START, carry={"sum_sq": 1}, state=("sum_sq",), hidden=True,
               lr=0.05, eps=1e-8, description="Rosenbrock, lr 0.05"),
)

_RMSPROP_CASES = (
    Case("first_step", lambda g, dt: call(randn(g, (4, 5), dt), randn(g, (4, 5), dt),
                                          torch.zeros(4, 5, dtype=_dt(dt)), lr=0.01),
         description="average at zeros (first step), alpha 0.99"),
    Case("carried", lambda g, dt: call(randn(g, (3, 4), dt), randn(g, (3, 4), dt), _pos(g, (3, 4), dt), lr=0.01,
                                       alpha=0.9),
         points=2.0, description="average carried over, alpha 0.9"),
    Case("tiny_grads", lambda g, dt: call(randn(g, (6,), dt), randn(g, (6,), dt, scale=1e-4),
                                          _pos(g, (6,), dt, 1e-4), lr=0.01, eps=1e-4),
         description="gradients of ~1e-4 and eps 1e-4: where eps goes matters"),
    Case("grad_1e4", lambda g, dt: call(randn(g, (2, 3), dt), randn(g, (2, 3), dt, scale=1e4),
                                        _pos(g, (2, 3), dt, 1e4), lr=0.01),
         description="gradients of ~1e4"),
    _traj_case("traj_quadratic", QUAD, _QUAD_START, carry={"square_avg": 1}, state=("square_avg",), lr=0.003,
               alpha=0.9, description="200 steps on the ill-conditioned quadratic, lr 3e-3, alpha 0.9"),
    _traj_case("traj_rosenbrock", ROSEN, _ROSEN_START, carry={"square_avg": 1}, state=("square_avg",), lr=1e-3,
               description="200 steps on Rosenbrock, lr 1e-3, alpha 0.99"),
    _traj_case("traj_tiny_eps", QUAD_TINY, _QUAD_START, carry={"square_avg": 1}, state=("square_avg",), lr=0.01,
               alpha=0.9, eps=1e-3,
               description="200 steps on the quadratic scaled by 1e-4 with eps 1e-3 (eps comparable to sqrt(a))"),
    Case("hidden_zero_grads", lambda g, dt: call(randn(g, (2, 5), dt), _with_zeros(g, randn(g, (2, 5), dt), 0.4),
                                                 _pos(g, (2, 5), dt), lr=0.02, alpha=0.95),
         hidden=True, points=2.0, description="gradient entries exactly 0, alpha 0.95"),
    _traj_case("hidden_traj_quadratic", QUAD, _QUAD_START, carry={"square_avg": 1}, state=("square_avg",),
               hidden=True, lr=0.005, alpha=0.99, description="the quadratic, lr 5e-3, alpha 0.99"),
)


def _adam_plain(shape, *, t, lr=1e-3, carried=True, grad_scale=1.0, param_scale=1.0, **hyper):
    def make(g, dt):
        p = randn(g, shape, dt, scale=param_scale)
        gr = randn(g, shape, dt, scale=grad_scale)
        if carried:
            m = randn(g, shape, dt, scale=0.1 * grad_scale)
            v = _pos(g, shape, dt, grad_scale)
        else:
            m = torch.zeros(shape, dtype=_dt(dt))
            v = torch.zeros(shape, dtype=_dt(dt))
        return call(p, gr, m, v, t, lr=lr, **hyper)

    return make


def _adam_cases(*, adamw: bool):
    kind = "AdamW" if adamw else "Adam"
    extra = (
        Case("decay_large_lr", _adam_plain((3, 4), t=3, lr=0.1, weight_decay=0.5), points=2.0,
             description=f"{kind} with lr 0.1 and weight_decay 0.5: where the decay goes shows"),
        Case("no_decay", _adam_plain((3, 4), t=5, lr=0.01, weight_decay=0.0),
             description="weight_decay 0"),
    ) if adamw else (
        Case("weight_decay", _adam_plain((3, 4), t=3, lr=0.05, weight_decay=0.1), points=2.0,
             description="weight_decay 0.1 as an L2 term: g = grad + wd * param"),
    )
    traj_wd = {"weight_decay": 0.1} if adamw else {}
    return (
        Case("first_step", _adam_plain((4, 5), t=1, carried=False), points=2.0,
             description="t = 1 from zero moments: the bias-corrected step is lr * sign(g)"
                         + (" (after the decay)" if adamw else "")),
        Case("carried", _adam_plain((3, 4), t=7, lr=0.01), points=2.0, description="t = 7, moments carried over"),
        Case("t_large", _adam_plain((6,), t=10000, lr=0.01, beta2=0.99),
             description="t = 10000: the bias correction is ~1"),
        Case("t_medium", _adam_plain((6,), t=1000, lr=0.01),
             description="t = 1000 with beta2 0.999: the bias correction still matters"),
        Case("tiny_grads", _adam_plain((5,), t=4, lr=0.01, grad_scale=1e-5, param_scale=0.01),
             description="gradients of ~1e-5: sqrt(v_hat) is ~1e-5, eps = 1e-8 must stay outside the square root "
                         "(parameter ~0.01, so the step is visible)"),
        Case("zero_grads", lambda g, dt: call(randn(g, (5,), dt), torch.zeros(5, dtype=_dt(dt)),
                                              torch.zeros(5, dtype=_dt(dt)), torch.zeros(5, dtype=_dt(dt)), 1,
                                              lr=0.01),
             description="zero gradient from zero moments at t = 1 (0 / eps must give 0)"),
        Case("grad_1e4", _adam_plain((2, 3), t=2, lr=0.01, grad_scale=1e4), description="gradients of ~1e4"),
        *extra,
        _traj_case("traj_quadratic", QUAD, _QUAD_START, carry={"m": 1, "v": 2}, step="t", state=("m", "v"), t=1,
                   lr=0.05, **traj_wd,
                   description="200 steps on the ill-conditioned quadratic, lr 0.05" + (", wd 0.1" if adamw else "")),
        _traj_case("traj_rosenbrock", ROSEN, _ROSEN_START, carry={"m": 1, "v": 2}, step="t", state=("m", "v"), t=1,
                   lr=0.01, **traj_wd, description="200 steps on Rosenbrock, lr 0.01"),
        _traj_case("traj_tiny_eps", QUAD_TINY, _QUAD_START, carry={"m": 1, "v": 2}, step="t", state=("m", "v"), t=1,
                   lr=0.01, beta2=0.9, eps=1e-4, **traj_wd,
                   description="200 steps on the quadratic scaled by 1e-4, beta2 0.9, eps 1e-4 "
                               "(eps comparable to sqrt(v_hat))"),
        Case("hidden_carried_3d", _adam_plain((2, 3, 2), t=12, lr=0.02, beta1=0.8, beta2=0.99,
                                              weight_decay=0.05), hidden=True, points=2.0,
             description="3-D, t = 12, betas (0.8, 0.99), weight decay 0.05"),
        _traj_case("hidden_traj_rosenbrock", ROSEN, _ROSEN_START, carry={"m": 1, "v": 2}, step="t",
                   state=("m", "v"), t=1, hidden=True, lr=0.02, beta1=0.8, weight_decay=0.05,
                   description="Rosenbrock, lr 0.02, beta1 0.8, weight decay 0.05"),
    )


# --------------------------------------------------------------------------- cases: EWMA, schedules, clipping

# beta >= 0.999 in float32: beta itself is rounded (0.9999 -> 0.99989998), so 1 - beta^t at small t,
# computed in float32 by a correct vectorised solution, is only good to ~1e-3 relative.  The mistakes
# differ by factors (no bias correction: 1/(1 - beta) at t = 1), so a looser float32 tolerance costs nothing.
_F32_BETA_NEAR_1 = {"float32": Tolerance(rtol=2e-3, atol=1e-5)}

_EWMA_CASES = (
    Case("small_1d", lambda g, dt: call(randn(g, (20,), dt, shift=5.0), 0.9),
         description="T = 20 values around 5, beta 0.9"),
    Case("table_2d", lambda g, dt: call(randn(g, (50, 3), dt, shift=2.0), 0.98), points=2.0,
         description="(T, D) = (50, 3), beta 0.98"),
    Case("no_correction", lambda g, dt: call(randn(g, (30, 2), dt, shift=1.0), 0.9, bias_correction=False),
         description="bias_correction=False"),
    Case("beta_near_1", lambda g, dt: call(randn(g, (300,), dt, shift=40.0), 0.999), points=2.0,
         tolerance=_F32_BETA_NEAR_1, description="T = 300 temperatures around 40, beta 0.999"),
    Case("beta_near_1_2d", lambda g, dt: call(randn(g, (200, 4), dt, shift=-3.0), 0.9999, False),
         tolerance=_F32_BETA_NEAR_1, description="(200, 4), beta 0.9999, no bias correction (positional)"),
    Case("three_d", lambda g, dt: call(randn(g, (10, 2, 3), dt), 0.5), description="(T, 2, 3), beta 0.5"),
    Case("hidden_beta_near_1_2d", lambda g, dt: call(randn(g, (400, 3), dt, scale=10.0, shift=100.0), 0.9995),
         hidden=True, tolerance=_F32_BETA_NEAR_1, points=2.0, description="(400, 3), beta 0.9995"),
    Case("hidden_single_step", lambda g, dt: call(randn(g, (1, 5), dt), 0.9), hidden=True, points=2.0,
         description="T = 1: the corrected value is x_1 itself"),
)

_STEP_LR_CASES = (
    Case("epoch_0", lambda g, dt: call(0.1, 0, 30), dtypes=_F64, description="epoch 0: base_lr"),
    Case("before_boundary", lambda g, dt: call(0.1, 29, 30), dtypes=_F64, description="epoch 29 of step_size 30"),
    Case("at_boundary", lambda g, dt: call(0.1, 30, 30), dtypes=_F64, points=2.0,
         description="epoch 30 = step_size: first decay"),
    Case("after_boundaries", lambda g, dt: call(0.5, 95, 30, gamma=0.5), dtypes=_F64, points=2.0,
         description="epoch 95, step_size 30, gamma 0.5 (three decays)"),
    Case("hidden_step_1", lambda g, dt: call(0.01, 7, 1, 0.9), dtypes=_F64, hidden=True,
         description="step_size 1, gamma 0.9 (positional)"),
    Case("hidden_far", lambda g, dt: call(1.0, 250, 40, gamma=0.5), dtypes=_F64, hidden=True,
         description="epoch 250, step_size 40 (six decays)"),
)

_EXP_LR_CASES = (
    Case("epoch_0", lambda g, dt: call(0.1, 0, 0.9), dtypes=_F64, description="epoch 0: base_lr"),
    Case("epoch_1", lambda g, dt: call(0.1, 1, 0.9), dtypes=_F64, points=2.0, description="epoch 1: one decay"),
    Case("epoch_50", lambda g, dt: call(0.2, 50, 0.95), dtypes=_F64, description="epoch 50, gamma 0.95"),
    Case("hidden_epoch_17", lambda g, dt: call(3e-4, 17, 0.8), dtypes=_F64, hidden=True, points=2.0,
         description="epoch 17, gamma 0.8"),
)

_COSINE_CASES = (
    Case("epoch_0", lambda g, dt: call(0.1, 0, 100), dtypes=_F64, description="epoch 0: base_lr"),
    Case("midway", lambda g, dt: call(0.1, 50, 100), dtypes=_F64, description="epoch T_max / 2: the mean"),
    Case("at_t_max", lambda g, dt: call(0.1, 100, 100, eta_min=0.001), dtypes=_F64, points=2.0,
         description="epoch = T_max: exactly eta_min"),
    Case("eta_min", lambda g, dt: call(0.05, 13, 40, eta_min=0.005), dtypes=_F64, points=2.0,
         description="epoch 13 of 40 with eta_min 0.005"),
    Case("near_end", lambda g, dt: call(1.0, 9, 10), dtypes=_F64, description="epoch 9 of T_max 10"),
    Case("hidden_eta_min_positional", lambda g, dt: call(0.3, 7, 20, 0.01), dtypes=_F64, hidden=True,
         description="eta_min passed positionally"),
    Case("hidden_at_t_max", lambda g, dt: call(0.02, 30, 30), dtypes=_F64, hidden=True,
         description="epoch = T_max = 30, eta_min 0: exactly 0"),
)

_INV_TIME_CASES = (
    Case("epoch_0", lambda g, dt: call(0.1, 0, 0.5), dtypes=_F64, description="epoch 0: base_lr"),
    Case("interval_1", lambda g, dt: call(0.1, 10, 0.5), dtypes=_F64, points=2.0,
         description="epoch 10, decay_rate 0.5, every epoch"),
    Case("interval_between", lambda g, dt: call(1.0, 25, 1.0, time_interval=10), dtypes=_F64, points=2.0,
         description="epoch 25 with time_interval 10 (staircase: counts 2 intervals)"),
    Case("interval_at", lambda g, dt: call(0.2, 30, 0.1, 10), dtypes=_F64,
         description="epoch 30 = 3 intervals (positional)"),
    Case("hidden_interval_before", lambda g, dt: call(0.05, 9, 2.0, time_interval=10), dtypes=_F64, hidden=True,
         points=2.0, description="epoch 9 of interval 10: no decay yet"),
)


def _grads(g, dt, shapes, scale=1.0):
    return [randn(g, s, dt, scale=scale) for s in shapes]


_SHAPES = [(3, 4), (5,), (2, 2, 3)]


def _norm64(grads, p):
    flat = torch.cat([x.to(torch.float64).reshape(-1) for x in grads])
    if math.isinf(p):
        return float(flat.abs().max())
    return float((flat.abs() ** p).sum() ** (1.0 / p))


def _clip_at(p, scale=1.0, shapes=((3, 4),)):
    """Total norm exactly at max_norm (computed from the inputs as cast to the case dtype).

    One tensor by default: then clipping per tensor is right, and only the 1e-6 shows.
    """

    def make(g, dt):
        grads = _grads(g, dt, shapes, scale)
        return call(grads, _norm64(grads, p), norm_type=p)

    return make


# Outputs of ~1e-6: the default float32 atol (1e-5) would accept anything; keep the relative tolerance only.
_F32_TINY = {"float32": Tolerance(rtol=1e-4, atol=1e-12)}

_CLIP_NORM_CASES = (
    Case("below", lambda g, dt: call(_grads(g, dt, _SHAPES, 0.1), 10.0), points=1.0,
         description="total 2-norm ~0.6, max_norm 10: unchanged"),
    Case("above", lambda g, dt: call(_grads(g, dt, _SHAPES), 1.0), points=2.0,
         description="three tensors (3, 4), (5,), (2, 2, 3); total 2-norm ~5.5 > max_norm 1"),
    Case("at_max_norm", _clip_at(2.0, 0.2), points=2.0,
         description="one tensor, norm exactly max_norm: the 1e-6 still scales by max_norm / (max_norm + 1e-6)"),
    Case("norm_1", lambda g, dt: call(_grads(g, dt, _SHAPES), 5.0, norm_type=1.0),
         description="norm_type 1, total ~20 > max_norm 5"),
    Case("norm_inf", lambda g, dt: call(_grads(g, dt, _SHAPES), 0.5, norm_type=float("inf")), points=2.0,
         description="norm_type inf: the largest |entry| over all tensors"),
    Case("tiny_norm", lambda g, dt: call(_grads(g, dt, _SHAPES, 1e-5), 1e-5), points=1.0, tolerance=_F32_TINY,
         description="total norm ~5e-5 > max_norm 1e-5: the 1e-6 in the denominator matters"),
    Case("grad_1e4", lambda g, dt: call(_grads(g, dt, [(4, 4), (7,)], 1e4), 1.0),
         description="entries of ~1e4"),
    Case("one_dominant", lambda g, dt: call([randn(g, (3,), dt, scale=0.01), randn(g, (2, 4), dt, scale=10.0)],
                                            2.0), points=2.0,
         description="one small and one large tensor: both scale by the same global factor"),
    Case("hidden_norm_3", lambda g, dt: call(_grads(g, dt, [(2, 3), (4,), (1, 1)], 2.0), 1.5, norm_type=3.0),
         hidden=True, description="norm_type 3"),
    Case("hidden_at_inf", _clip_at(float("inf")), hidden=True,
         description="one tensor, inf-norm exactly at max_norm"),
    Case("hidden_single", lambda g, dt: call([randn(g, (6, 2), dt, scale=3.0)], 0.7), hidden=True, points=2.0,
         description="a single tensor"),
)

_CLIP_VALUE_CASES = (
    Case("mixed", lambda g, dt: call(_grads(g, dt, _SHAPES, 2.0), 1.0), points=2.0,
         description="three tensors ~N(0, 4), clip_value 1: both sides clamp"),
    Case("none_clipped", lambda g, dt: call(_grads(g, dt, _SHAPES, 0.01), 1.0),
         description="all entries inside: unchanged"),
    Case("grad_1e4", lambda g, dt: call(_grads(g, dt, [(4, 3), (2,)], 1e4), 100.0),
         description="entries of ~1e4, clip_value 100"),
    Case("exact_edges", lambda g, dt: call([_tensor([-2.0, -0.5, 0.0, 0.5, 2.0, -0.0], dt)], 0.5),
         description="entries exactly at +-clip_value and zeros"),
    Case("hidden_3d", lambda g, dt: call(_grads(g, dt, [(2, 2, 2), (3, 1)], 5.0), 2.5), hidden=True, points=2.0,
         description="3-D and column tensors, clip_value 2.5"),
)


def _adam_family_mistakes(prefix: str) -> tuple:
    """The update mistakes Adam and AdamW share (same ids: the same mistake in either function)."""
    v = {"adam": (_adam_no_bias_correction, _adam_t_from_zero, _adam_eps_inside_sqrt,
                  _adam_returns_corrected_moments),
         "adamw": (_adamw_no_bias_correction, _adamw_t_from_zero, _adamw_eps_inside_sqrt,
                   _adamw_returns_corrected_moments)}[prefix]
    return (
        Mistake("adam_no_bias_correction",
                "Your step uses m and v without bias correction. m and v start at 0, so early on they "
                "are too small: divide by (1 - beta1**t) and (1 - beta2**t) before the update "
                "(at t = 1 the corrected step is exactly lr * sign(g)).",
                v[0], "Adam without bias correction"),
        Mistake("adam_t_from_zero",
                "Your bias correction uses t - 1 (a step counter that starts at 0): at t = 1 it divides "
                "by 1 - beta**0 = 0. t is the number of *this* step and starts at 1: use beta1**t and "
                "beta2**t.",
                v[1], "bias correction with t starting at 0"),
        Mistake("adam_eps_inside_sqrt",
                "You put eps inside the square root, sqrt(v_hat + eps). Adam adds it outside: "
                "m_hat / (sqrt(v_hat) + eps). It only matters when sqrt(v_hat) is comparable to eps "
                "(small gradients), which is exactly where this case looks.",
                v[2], "eps inside the square root"),
        Mistake("adam_returns_corrected_moments",
                "You return the bias-corrected m_hat and v_hat as the new state. The moving averages "
                "m and v must stay uncorrected (the next step corrects them again with its own t); "
                "return m and v, and use m_hat, v_hat only for the update.",
                v[3], "corrected moments returned as state"),
    )


# --------------------------------------------------------------------------- the assignment

_FOREACH = tuple(sorted(n for n in dir(torch) if n.startswith("_foreach_")))
_FUSED = ("_fused_adam_", "_fused_adamw_", "_fused_sgd_", "_fused_adagrad_")

ASSIGNMENT = Assignment(
    id="optimizers",
    position=13,
    title="Optimizers by hand: update rules, schedules, clipping",
    banned=(
        "torch.optim",
        "torch.nn.utils",
        "torch.nn.functional",
        "torch.distributed.optim",
        "optax",
        "keras.optimizers",
        "tensorflow.keras.optimizers",
        *(f"torch.{n}" for n in _FOREACH),
        *(f"torch.{n}" for n in _FUSED if hasattr(torch, n)),
        *AUTODIFF,
    ),
    banned_ops=(
        *(f"aten::{n}" for n in _FOREACH),
        *(f"aten::{n}" for n in _FUSED),
    ),
    functions=(
        Function(
            name="sgd_step",
            cases=_SGD_CASES,
            oracle=_oracle_sgd,
            mistakes=(
                Mistake("sgd_weight_decay_ignored",
                        "Your step ignores weight_decay. The L2 penalty enters the gradient: "
                        "g = grad + weight_decay * param, then param - lr * g.",
                        _sgd_weight_decay_ignored, "weight decay ignored"),
                Mistake("sgd_decay_not_scaled_by_lr",
                        "You shrink the parameter by (1 - weight_decay) and then step with lr * grad. "
                        "The decay is part of the gradient, so it is scaled by lr too: "
                        "param - lr * (grad + weight_decay * param) = param * (1 - lr * weight_decay) - lr * grad.",
                        _sgd_decay_not_scaled_by_lr, "weight decay not multiplied by lr"),
            ),
        ),
        Function(
            name="sgd_momentum_step",
            cases=_MOMENTUM_CASES,
            oracle=_oracle_momentum,
            mistakes=(
                Mistake("momentum_cs231n_form",
                        "You keep the learning rate inside the velocity (v = mu * v - lr * g; param + v, the "
                        "CS231n form). The contract follows torch.optim.SGD: v = momentum * v + g is returned as "
                        "the velocity and the parameter moves by -lr * v. Both give the same first step, but the "
                        "velocity you return (and every later step from a carried velocity) differs.",
                        _momentum_cs231n_form, "velocity holds -lr * g (CS231n convention)"),
                Mistake("nesterov_as_momentum",
                        "With nesterov=True you take the plain momentum step. Nesterov's step looks ahead: "
                        "after v = momentum * v + g, move by g + momentum * v (not by v).",
                        _nesterov_as_momentum, "Nesterov computed as plain momentum"),
                Mistake("momentum_dampened",
                        "Your velocity is an average, v = momentum * v + (1 - momentum) * g (the form of "
                        "Andrew Ng's course). torch.optim.SGD (dampening 0) adds the full gradient: "
                        "v = momentum * v + g.",
                        _momentum_dampened, "velocity dampened by (1 - momentum)"),
            ),
        ),
        Function(
            name="adagrad_step",
            cases=_ADAGRAD_CASES,
            oracle=_oracle_adagrad,
            mistakes=(
                Mistake("adagrad_averaged",
                        "Your accumulator averages the old sum and the new squared gradient. Adagrad *sums* "
                        "every squared gradient: sum_sq + g * g (its steps shrink as the sum grows; an average "
                        "is RMSProp's idea).",
                        _adagrad_averaged, "Adagrad averaging instead of summing"),
                Mistake("adagrad_eps_inside_sqrt",
                        "You put eps inside the square root, sqrt(sum_sq + eps). Adagrad (torch.optim.Adagrad) "
                        "adds it outside: g / (sqrt(sum_sq) + eps). The two differ when sqrt(sum_sq) is "
                        "comparable to eps.",
                        _adagrad_eps_inside_sqrt, "eps inside the square root"),
                Mistake("adagrad_stale_sum",
                        "You divide by the square root of the *old* sum. Add g * g to the sum first, then "
                        "divide by sqrt(new sum) + eps (on the first step the old sum is 0 and the step explodes).",
                        _adagrad_stale_sum, "denominator from the sum before adding g^2"),
            ),
        ),
        Function(
            name="rmsprop_step",
            cases=_RMSPROP_CASES,
            oracle=_oracle_rmsprop,
            mistakes=(
                Mistake("rmsprop_alpha_swapped",
                        "alpha and 1 - alpha are swapped: alpha (0.99 by default) is the weight of the *old* "
                        "average, a = alpha * a + (1 - alpha) * g * g.",
                        _rmsprop_alpha_swapped, "alpha and 1 - alpha swapped"),
                Mistake("rmsprop_eps_inside_sqrt",
                        "You put eps inside the square root, sqrt(a + eps). torch.optim.RMSprop adds it "
                        "outside: g / (sqrt(a) + eps). The two differ when sqrt(a) is comparable to eps "
                        "(small gradients or a large eps).",
                        _rmsprop_eps_inside_sqrt, "eps inside the square root"),
            ),
        ),
        Function(
            name="adam_step",
            cases=_adam_cases(adamw=False),
            oracle=_oracle_adam,
            mistakes=(
                *_adam_family_mistakes("adam"),
                Mistake("adam_decay_decoupled",
                        "Your adam_step applies weight decay the AdamW way (param * (1 - lr * wd)). "
                        "torch.optim.Adam adds it to the gradient as an L2 term: g = grad + wd * param, and g "
                        "then enters m and v.",
                        _adam_decay_decoupled, "AdamW-style decay in Adam"),
            ),
        ),
        Function(
            name="adamw_step",
            cases=_adam_cases(adamw=True),
            oracle=_oracle_adamw,
            mistakes=(
                *_adam_family_mistakes("adamw"),
                Mistake("adamw_l2_coupled",
                        "Your AdamW adds the decay to the gradient (g = grad + wd * param): that is Adam with L2, "
                        "and the decay gets rescaled by 1 / sqrt(v_hat). AdamW decouples it: "
                        "param * (1 - lr * wd) first, then the Adam update with g = grad.",
                        _adamw_l2_coupled, "decay coupled into the gradient (L2)"),
                Mistake("adamw_decay_after_update",
                        "You apply the decay after the Adam update. torch.optim.AdamW decays the parameter "
                        "*before* it: param * (1 - lr * wd) - lr * m_hat / (sqrt(v_hat) + eps); decaying "
                        "afterwards also shrinks the update by (1 - lr * wd).",
                        _adamw_decay_after_update, "decay applied after the update"),
                Mistake("adamw_decay_not_scaled_by_lr",
                        "You decay by param * (1 - wd). torch.optim.AdamW multiplies the decay by the "
                        "learning rate: param * (1 - lr * wd).",
                        _adamw_decay_not_scaled_by_lr, "decay not multiplied by lr"),
            ),
        ),
        Function(
            name="ewma",
            axes=(Axis("step", axis=0),),
            cases=_EWMA_CASES,
            oracle=_oracle_ewma,
            mistakes=(
                Mistake("ewma_no_bias_correction",
                        "Your average ignores bias_correction=True. Starting from v_0 = 0, the first values "
                        "are too small (v_1 = (1 - beta) x_1): divide v_t by (1 - beta**t), t counted from 1.",
                        _ewma_no_bias_correction, "EWMA without bias correction"),
                Mistake("ewma_v0_is_x0",
                        "You start the average at the first value (v_1 = x_1). The contract starts at v_0 = 0 "
                        "and fixes the start-up with the bias correction v_t / (1 - beta**t).",
                        _ewma_v0_is_x0, "EWMA starting at v_0 = x_0"),
                Mistake("ewma_recursion_on_corrected",
                        "You feed the *corrected* value back into the recursion. The recursion "
                        "v_t = beta * v_{t-1} + (1 - beta) * x_t must use the uncorrected v_{t-1}; divide by "
                        "(1 - beta**t) only for the output.",
                        _ewma_recursion_on_corrected, "recursion on the bias-corrected value"),
            ),
        ),
        Function(
            name="step_lr",
            cases=_STEP_LR_CASES,
            oracle=_oracle_step_lr,
            mistakes=(
                Mistake("step_lr_no_floor",
                        "Your learning rate decays smoothly: the exponent must be the integer "
                        "epoch // step_size (the rate drops only at multiples of step_size).",
                        _step_lr_no_floor, "epoch / step_size without floor"),
            ),
        ),
        Function(
            name="exponential_lr",
            cases=_EXP_LR_CASES,
            oracle=_oracle_exponential_lr,
            mistakes=(
                Mistake("exponential_lr_off_by_one",
                        "Your rate at epoch 0 is already decayed. ExponentialLR gives base_lr at epoch 0 and "
                        "base_lr * gamma**epoch afterwards.",
                        _exponential_lr_off_by_one, "gamma**(epoch + 1)"),
            ),
        ),
        Function(
            name="cosine_annealing_lr",
            cases=_COSINE_CASES,
            oracle=_oracle_cosine,
            mistakes=(
                Mistake("cosine_t_max_off_by_one",
                        "Your cosine reaches eta_min one epoch early (you divide by T_max - 1). The cosine runs "
                        "over T_max epochs: cos(pi * epoch / T_max), reaching eta_min exactly at epoch = T_max.",
                        _cosine_t_max_off_by_one, "T_max off by one"),
                Mistake("cosine_eta_min_ignored",
                        "Your schedule anneals to 0 instead of eta_min: "
                        "eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.",
                        _cosine_eta_min_ignored, "eta_min ignored"),
            ),
        ),
        Function(
            name="inverse_time_decay_lr",
            cases=_INV_TIME_CASES,
            mistakes=(
                Mistake("inverse_time_no_floor",
                        "Your decay is continuous: the contract counts whole intervals, "
                        "base_lr / (1 + decay_rate * (epoch // time_interval)).",
                        _inverse_time_no_floor, "epoch / time_interval without floor"),
            ),
        ),
        Function(
            name="clip_grad_norm",
            cases=_CLIP_NORM_CASES,
            oracle=_oracle_clip_norm,
            mistakes=(
                Mistake("clip_per_tensor",
                        "You clip each tensor by its own norm. clip_grad_norm_ measures one *global* norm over "
                        "all tensors together and scales every tensor by the same factor "
                        "max_norm / (total_norm + 1e-6), so the direction of the full gradient is kept.",
                        _clip_per_tensor, "clipping per tensor instead of by the global norm"),
                Mistake("clip_no_eps",
                        "Your scale is max_norm / total_norm. torch adds 1e-6 to the denominator: "
                        "max_norm / (total_norm + 1e-6) (it guards against 0 and makes a norm exactly at "
                        "max_norm scale by slightly less than 1).",
                        _clip_no_eps, "clipping without the 1e-6"),
                Mistake("clip_scales_up",
                        "You rescale even when the norm is already below max_norm, which *enlarges* small "
                        "gradients. Multiply by min(1, max_norm / (total_norm + 1e-6)).",
                        _clip_scales_up, "gradients scaled up below max_norm"),
                Mistake("clip_inf_norm_not_handled",
                        "norm_type=inf needs its own case: (sum |g|**inf) ** (1/inf) is not the max norm "
                        "(it gives 1.0 or nan). For inf, total_norm is the largest |entry| over all tensors.",
                        _clip_inf_norm_not_handled, "inf norm computed with the p-norm formula"),
                Mistake("clip_sum_of_norms",
                        "Your total norm adds the per-tensor norms. The global norm is the norm of all "
                        "entries together: (sum over tensors of ||g||_p ** p) ** (1/p) -- for p = 2, the square "
                        "root of the sum of squares.",
                        _clip_sum_of_norms, "sum of per-tensor norms as the total norm"),
            ),
        ),
        Function(
            name="clip_grad_value",
            cases=_CLIP_VALUE_CASES,
            oracle=_oracle_clip_value,
            mistakes=(
                Mistake("clip_value_upper_only",
                        "You only clamp from above. Entries below -clip_value must become -clip_value too: "
                        "clamp to [-clip_value, clip_value].",
                        _clip_value_upper_only, "only the upper bound clamped"),
            ),
        ),
    ),
)
