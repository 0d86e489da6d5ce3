"""Assignment ``optimizers``: update rules, learning-rate schedules and gradient clipping, by hand.

You implement thirteen small functions with elementary tensor operations
(``+``, ``*``, ``/``, ``sqrt``, ``abs``, ``amax``, ``sum``, ``where``, ``clamp``, ...):

* update rules, one step each: ``sgd_step``, ``sgd_momentum_step`` (with
  Nesterov), ``adagrad_step``, ``rmsprop_step``, ``adam_step``, ``adamw_step``;
* ``ewma``, the exponentially weighted moving average with bias correction;
* schedules: ``step_lr``, ``exponential_lr``, ``cosine_annealing_lr``,
  ``inverse_time_decay_lr`` (they return Python floats);
* clipping: ``clip_grad_norm`` and ``clip_grad_value``.

Every update rule is a *pure function*: the state (velocity, sums, moments)
comes in as arguments and goes out in the returned tuple. Return new
tensors; never modify ``param``, ``grad`` or the state in place. The
semantics are those of one ``step()`` of ``torch.optim`` with that state:

    SGD       g = grad + wd*param;            param - lr*g
    momentum  v = mu*v + g;                   param - lr*(g + mu*v if nesterov else v)
    Adagrad   s = s + g^2;                    param - lr*g / (sqrt(s) + eps)
    RMSProp   a = alpha*a + (1 - alpha)*g^2;  param - lr*g / (sqrt(a) + eps)
    Adam      m = b1*m + (1 - b1)*g;  v = b2*v + (1 - b2)*g^2;
              m_hat = m/(1 - b1^t);  v_hat = v/(1 - b2^t);  param - lr*m_hat / (sqrt(v_hat) + eps)
    AdamW     param*(1 - lr*wd) first, then Adam with g = grad

How you are graded: besides one-step cases, each update rule is run for 200
steps on an ill-conditioned quadratic and on the Rosenbrock function, the
grader computing the gradient at every step and feeding your returned state
back in. Your whole trajectory must follow the reference; the report shows
the first step where they part and both loss curves.

Banned (the point is to write them yourself; the grader checks both your
source and what actually runs): ``torch.optim.*`` (optimizers and
``lr_scheduler``), ``torch.nn.utils.*`` (``clip_grad_norm_``,
``clip_grad_value_``), ``torch._foreach_*`` and the fused optimizer kernels,
``torch.nn.functional.*``, and autograd (``.backward()``,
``torch.autograd.*``, ``torch.func.*``).

Also banned: torch.distributed.optim, other libraries' optimizers (optax,
keras.optimizers, tensorflow.keras.optimizers), and any other automatic
differentiation (jax.grad, jax.vjp, jax.jvp, jax.jacrev, jax.jacfwd,
autograd.grad, tensorflow.GradientTape).

Rules for every tensor function:

* work for float32 and float64 on any device; return tensors on the input's
  device with the input's dtype;
* never modify the inputs in place;
* gradients of magnitude 1e4 must give finite, correct results.

Tip (from the interview notes): "Adam combines Momentum and RMSProp"; the
notes' own warning about the moving average applies to Adam too -- the
recursion runs on the *uncorrected* average; bias correction is only
applied to what you use.

Check your work with::

    grade check -a optimizers
"""

import torch


def sgd_step(param: torch.Tensor, grad: torch.Tensor, lr: float, weight_decay: float = 0.0) -> torch.Tensor:
    """One step of plain stochastic gradient descent (``torch.optim.SGD`` without momentum).

    g = grad + weight_decay * param
    param_new = param - lr * g

    Args:
        param: the parameter, any shape, float32 or float64.
        grad: dL/dparam, same shape, dtype and device as ``param``.
        lr: learning rate (a Python float).
        weight_decay: L2 penalty coefficient; 0 disables it.

    Returns:
        The new parameter: a new tensor with ``param``'s shape, dtype and device.

    Banned: torch.optim.*, torch.nn.utils.*, torch._foreach_*, torch.nn.functional.*, autograd.

    Tip: weight decay is "L2 regularisation folded into the gradient": it is
    part of g, so it is multiplied by lr like the rest of the gradient.
    """
    raise NotImplementedError


def sgd_momentum_step(param: torch.Tensor, grad: torch.Tensor, velocity: torch.Tensor, lr: float,
                      momentum: float = 0.9, nesterov: bool = False,
                      weight_decay: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of SGD with momentum, PyTorch's convention (``torch.optim.SGD``, dampening 0).

    g = grad + weight_decay * param
    v = momentum * velocity + g
    step = g + momentum * v   if nesterov else   v
    param_new = param - lr * step

    Args:
        param: the parameter, any shape, float32 or float64.
        grad: dL/dparam, like ``param``.
        velocity: the momentum buffer returned by the previous step (zeros before
            the first step), like ``param``.
        lr: learning rate.
        momentum: momentum factor mu in [0, 1).
        nesterov: use Nesterov's look-ahead step.
        weight_decay: L2 penalty coefficient.

    Returns:
        ``(param_new, v)``: new tensors like ``param``; ``v`` is the new velocity.

    Banned: torch.optim.*, torch.nn.utils.*, torch._foreach_*, torch.nn.functional.*, autograd.

    Tip: CS231n writes v = mu*v - lr*g and param + v. That is a different
    *convention*: here lr stays out of the velocity (v = mu*v + g, and the
    parameter moves by -lr*v), exactly as torch.optim.SGD stores it.
    """
    raise NotImplementedError


def adagrad_step(param: torch.Tensor, grad: torch.Tensor, sum_sq: torch.Tensor, lr: float = 0.01,
                 eps: float = 1e-10) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of Adagrad (``torch.optim.Adagrad`` without lr decay or weight decay).

    sum_sq_new = sum_sq + grad^2
    param_new = param - lr * grad / (sqrt(sum_sq_new) + eps)

    Args:
        param: the parameter, any shape, float32 or float64.
        grad: dL/dparam, like ``param``.
        sum_sq: the running *sum* of squared gradients (zeros before the first step).
        lr: learning rate.
        eps: added to the square root (outside it) against division by zero.

    Returns:
        ``(param_new, sum_sq_new)``: new tensors like ``param``.

    Banned: torch.optim.*, torch.nn.utils.*, torch._foreach_*, torch.nn.functional.*, autograd.

    Tip (interview notes): AdaGrad "gives each parameter its own learning rate,
    which decays as training goes on" -- because the sum only grows. Add g^2
    *before* dividing.
    """
    raise NotImplementedError


def rmsprop_step(param: torch.Tensor, grad: torch.Tensor, square_avg: torch.Tensor, lr: float = 0.01,
                 alpha: float = 0.99, eps: float = 1e-8) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of RMSProp (``torch.optim.RMSprop``, not centered, no momentum).

    a = alpha * square_avg + (1 - alpha) * grad^2
    param_new = param - lr * grad / (sqrt(a) + eps)

    Args:
        param: the parameter, any shape, float32 or float64.
        grad: dL/dparam, like ``param``.
        square_avg: moving average of squared gradients (zeros before the first step).
        lr: learning rate.
        alpha: smoothing constant -- the weight of the *old* average.
        eps: added to the square root (outside it).

    Returns:
        ``(param_new, a)``: new tensors like ``param``.

    Banned: torch.optim.*, torch.nn.utils.*, torch._foreach_*, torch.nn.functional.*, autograd.

    Tip (interview notes): RMSProp divides by the root of a moving average of
    squared gradients, so a direction that oscillates strongly gets a smaller
    step; it is Adagrad with a forgetting average instead of a sum.
    """
    raise NotImplementedError


def adam_step(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int,
              lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
              weight_decay: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of Adam (``torch.optim.Adam``; weight decay as an L2 term in the gradient).

    g = grad + weight_decay * param
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g^2
    m_hat = m / (1 - beta1^t),   v_hat = v / (1 - beta2^t)
    param_new = param - lr * m_hat / (sqrt(v_hat) + eps)

    Args:
        param: the parameter, any shape, float32 or float64.
        grad: dL/dparam, like ``param``.
        m: first-moment estimate (zeros before the first step), like ``param``.
        v: second-moment estimate (zeros before the first step), like ``param``.
        t: the number of *this* step, starting at 1 (a Python int).
        lr, beta1, beta2, eps: as in torch.optim.Adam.
        weight_decay: L2 penalty coefficient (added to the gradient).

    Returns:
        ``(param_new, m, v)``: new tensors like ``param``; m and v *uncorrected*.

    Banned: torch.optim.*, torch.nn.utils.*, torch._foreach_*, torch.nn.functional.*, autograd.

    Tip: the usual values are beta1 = 0.9, beta2 = 0.999, eps = 1e-8 (interview
    notes). At t = 1 from zero moments the corrected step is lr * sign(g):
    a handy self-check.
    """
    raise NotImplementedError


def adamw_step(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int,
               lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
               weight_decay: float = 0.01) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of AdamW (``torch.optim.AdamW``; decoupled weight decay).

    param = param * (1 - lr * weight_decay)          # first, and never through m or v
    then the Adam update of :func:`adam_step` with g = grad (no decay term).

    Args: as :func:`adam_step` (``weight_decay`` defaults to 0.01).

    Returns:
        ``(param_new, m, v)``: new tensors like ``param``.

    Banned: torch.optim.*, torch.nn.utils.*, torch._foreach_*, torch.nn.functional.*, autograd.

    Tip: in Adam, an L2 term in g is divided by sqrt(v_hat) like the rest of
    the gradient, so weights with large gradients are barely decayed; AdamW
    (Loshchilov & Hutter) shrinks every weight by the same factor 1 - lr * wd.
    """
    raise NotImplementedError


def ewma(x: torch.Tensor, beta: float, bias_correction: bool = True) -> torch.Tensor:
    """Exponentially weighted moving average along dim 0.

    v_0 = 0
    v_t = beta * v_{t-1} + (1 - beta) * x_t        for t = 1..T (x_t is x[t-1])
    output[t-1] = v_t / (1 - beta^t)   with bias correction,   v_t   without.

    Args:
        x: (T, ...) float32 or float64: T steps of a value of any shape.  # (T, ...)
        beta: weight of the past, in [0, 1) (0.9 averages ~10 steps, 0.999 ~1000).
        bias_correction: divide by 1 - beta^t.

    Returns:
        Tensor like ``x``: (T, ...), same dtype and device.  # (T, ...)

    Banned: torch.optim.*, torch.nn.utils.*, torch._foreach_*, torch.nn.functional.*, autograd.

    Tip (interview notes): "the V_{t-1} in the formula is the *uncorrected*
    value -- plugging the corrected V_{t-1} into the recursion is badly wrong."
    With beta = 0.98 and x_1 = 40, v_1 = 0.8 but v_1 / (1 - 0.98) = 40.
    """
    raise NotImplementedError


def step_lr(base_lr: float, epoch: int, step_size: int, gamma: float = 0.1) -> float:
    """Step decay (``torch.optim.lr_scheduler.StepLR``): base_lr * gamma^(epoch // step_size).

    Args:
        base_lr: learning rate at epoch 0.
        epoch: the epoch (0, 1, 2, ...).
        step_size: decay every ``step_size`` epochs.
        gamma: multiplicative factor per decay.

    Returns:
        The learning rate at ``epoch``, a Python float.

    Banned: torch.optim.* (including lr_scheduler).

    Tip (interview notes): "discrete decay": the rate is constant within a
    stage and drops only at multiples of step_size -- integer division.
    """
    raise NotImplementedError


def exponential_lr(base_lr: float, epoch: int, gamma: float) -> float:
    """Exponential decay (``ExponentialLR``): base_lr * gamma^epoch.

    Args:
        base_lr: learning rate at epoch 0.
        epoch: the epoch (0, 1, 2, ...).
        gamma: multiplicative factor per epoch.

    Returns:
        The learning rate at ``epoch``, a Python float.

    Banned: torch.optim.* (including lr_scheduler).

    Tip (interview notes): "exponential decay: alpha = 0.95^epoch_num * alpha_0".
    """
    raise NotImplementedError


def cosine_annealing_lr(base_lr: float, epoch: int, T_max: int, eta_min: float = 0.0) -> float:
    """Cosine annealing (``CosineAnnealingLR``, closed form).

    eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    Args:
        base_lr: learning rate at epoch 0.
        epoch: the epoch, 0 <= epoch <= T_max.
        T_max: the epoch at which the rate reaches eta_min.
        eta_min: the smallest learning rate.

    Returns:
        The learning rate at ``epoch``, a Python float.

    Banned: torch.optim.* (including lr_scheduler).

    Tip: check the two ends: epoch 0 gives base_lr, epoch T_max gives exactly eta_min.
    """
    raise NotImplementedError


def inverse_time_decay_lr(base_lr: float, epoch: int, decay_rate: float, time_interval: int = 1) -> float:
    """Inverse-time decay (staircase): base_lr / (1 + decay_rate * (epoch // time_interval)).

    Args:
        base_lr: learning rate at epoch 0.
        epoch: the epoch (0, 1, 2, ...).
        decay_rate: the decay rate.
        time_interval: count whole intervals of this many epochs.

    Returns:
        The learning rate at ``epoch``, a Python float.

    Banned: torch.optim.* (including lr_scheduler).

    Tip (interview notes): "the most common decay: alpha = alpha_0 / (1 + decay_rate * epoch_num)".
    """
    raise NotImplementedError


def clip_grad_norm(grads: list[torch.Tensor], max_norm: float,
                   norm_type: float = 2.0) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Clip gradients by their *global* norm (``torch.nn.utils.clip_grad_norm_``, without modifying inputs).

    total_norm = the p-norm of all entries of all tensors together (p = norm_type;
                 for p = inf, the largest |entry|)
    coef = max_norm / (total_norm + 1e-6)
    every tensor is multiplied by min(coef, 1)

    Args:
        grads: non-empty list of tensors of any shapes (same dtype and device).
        max_norm: the largest allowed total norm.
        norm_type: p (1, 2, 3, ... or float("inf")).

    Returns:
        ``(clipped, total_norm)``: a list of new tensors like ``grads``, and the
        total norm measured *before* clipping as a 0-d tensor of the grads' dtype.

    Banned: torch.nn.utils.* (clip_grad_norm_), torch._foreach_* (e.g. _foreach_norm),
    torch.optim.*, torch.nn.functional.*, autograd.

    Tip (interview notes): gradient clipping is the standard cure for exploding
    gradients in RNNs; clipping the global norm keeps the direction of the
    whole gradient, clipping each tensor separately does not.
    """
    raise NotImplementedError


def clip_grad_value(grads: list[torch.Tensor], clip_value: float) -> list[torch.Tensor]:
    """Clip every gradient entry to [-clip_value, clip_value] (``torch.nn.utils.clip_grad_value_``).

    Args:
        grads: list of tensors of any shapes.
        clip_value: the largest allowed |entry| (> 0).

    Returns:
        A list of new tensors like ``grads``.

    Banned: torch.nn.utils.* (clip_grad_value_), torch._foreach_*, torch.optim.*,
    torch.nn.functional.*, autograd.

    Tip (interview notes): Keras' defaults are clipnorm=1.0 and clipvalue=0.5;
    value clipping changes the gradient's direction, norm clipping does not.
    """
    raise NotImplementedError
