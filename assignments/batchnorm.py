"""Assignment ``batchnorm``: batch normalization, training vs inference.

Implement the forward pass of batch normalization by hand, with the same
results as ``torch.nn.BatchNorm1d`` / ``torch.nn.BatchNorm2d`` (same momentum
and eps), including the update of the running statistics, and the backward
pass of its training mode (``batchnorm_backward``).

Banned (the grader checks statically and while your code runs):
    torch.nn.functional.* (e.g. F.batch_norm), torch.batch_norm and the other
    library batch-norm kernels, the other normalization kernels
    (torch.layer_norm, torch.native_layer_norm, torch.group_norm,
    torch.native_group_norm, torch.instance_norm), every torch.nn module
    (nn.BatchNorm1d/2d, ...), and autograd (.backward(), torch.autograd.*,
    torch.func.*).
    The point of the exercise is to write the normalization yourself.
    Allowed: elementary tensor ops, torch.mean, torch.var, torch.var_mean,
    torch.sqrt, torch.rsqrt, broadcasting, reshape/view, ...

    Also banned: torch.rms_norm, quantized norm modules (torch.ao),
    torch._C._nn, other libraries' normalization (sklearn.preprocessing,
    jax.nn, flax, tensorflow.nn, keras.layers, keras.ops), and any other
    automatic differentiation (jax.grad, jax.vjp, jax.jvp, jax.jacrev,
    jax.jacfwd, autograd.grad, tensorflow.GradientTape).

Rules for every function: inputs are torch.Tensors, float32 or float64, on any
device; outputs keep the input's dtype and device; never modify an input in
place (return new tensors).

Check your work with::

    grade check -a batchnorm

(add the path of this file if it is not ./batchnorm.py).
"""

import torch


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch normalization forward pass.

    Statistics are per channel (dim 1), taken over every other dim:
    over N for (N, C), over N and L for (N, C, L), over N, H and W for
    (N, C, H, W). Let m be the number of values per channel.

    training=True:
        mu      = mean of x per channel                          # (C,)
        var     = biased variance per channel (divide by m)      # (C,)
        out     = gamma * (x - mu) / sqrt(var + eps) + beta      # like x
        new_running_mean = (1 - momentum) * running_mean + momentum * mu
        new_running_var  = (1 - momentum) * running_var
                           + momentum * var * m / (m - 1)        # UNbiased variance
    training=False:
        out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta
        new_running_mean, new_running_var = running_mean, running_var (unchanged values)

    Args:
        x: (N, C), (N, C, L) or (N, C, H, W) float32/float64 tensor.
        gamma: (C,) scale, same dtype as x.
        beta: (C,) shift, same dtype as x.
        running_mean: (C,) running mean (do not modify it in place).
        running_var: (C,) running variance (do not modify it in place).
        training: bool, True to use (and update with) the batch statistics.
        momentum: float, weight of the NEW batch statistic in the running average.
        eps: float, added to the variance inside the square root.

    Returns:
        (out, new_running_mean, new_running_var):
            out: same shape, dtype and device as x.
            new_running_mean: (C,), dtype of x.
            new_running_var: (C,), dtype of x.
        Training on a single value per channel (m = 1) is never asked.

    Banned: torch.nn.functional.*, torch.batch_norm, torch.nn modules, autograd.

    Tip (from the interview notes): for a convolutional feature map
    (N, C, H, W) every channel has its own mean, variance, gamma and beta; the
    mean and variance are taken over the N x H x W values of that channel.
    Another: BN behaves differently in training and at inference -- at
    inference the statistics come from the running averages, not the batch.
    """
    # reduce_dims = ...      # every dim except 1
    # shape = ...            # (1, C, 1, 1) to broadcast (C,) vectors over x
    raise NotImplementedError


def batchnorm_backward(grad_out, x, gamma, eps=1e-5):
    """Backward pass of the TRAINING-mode batchnorm_forward (batch statistics, biased variance).

    Statistics are per channel (dim 1) over every other dim, m values per
    channel. With xhat = (x - mu) / sqrt(var + eps) and g = grad_out * gamma
    (gamma broadcast over the channel dim):

        dx     = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps)   (means per channel)
        dgamma = sum of grad_out * xhat per channel          # (C,)
        dbeta  = sum of grad_out per channel                 # (C,)

    Args:
        grad_out: upstream gradient dL/dout, shaped like x.
        x: (N, C), (N, C, L) or (N, C, H, W) forward input, float32/float64.
        gamma: (C,) forward scale, same dtype as x.
        eps: float, as in the forward pass.

    Returns:
        (dx, dgamma, dbeta): dx shaped like x, dgamma and dbeta (C,);
        x's dtype and device.

    Banned: as batchnorm_forward (no autograd, no torch.nn.functional).

    Tip (from the interview notes): batch norm is computed per channel over
    the N x H x W values of a feature map, so its backward pass sums over the
    same axes. The mean and the variance depend on every input of the
    channel: forgetting those two paths (dx = g / sqrt(var + eps)) is the
    classic mistake -- check yourself against finite differences.
    """
    raise NotImplementedError
