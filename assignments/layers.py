"""Assignment ``layers``: dense, ReLU, dropout, convolution and max pooling, by hand.

You implement the forward (and some backward) passes of the layers of a
small CNN, the way CS231n / EECS 498 / "deep learning from scratch" do:

* ``affine_forward(x, W, b)``: out = x @ W + b
* ``relu_forward(x)``: max(x, 0)
* ``dropout_forward(x, p, training)`` and ``dropout_backward(grad_out, mask, p)``:
  inverted dropout, out = x * mask / (1 - p) at training time, out = x at inference
* ``conv2d_forward(x, W, b, stride=1, padding=0)`` and
  ``conv2d_backward(grad_out, x, W, stride=1, padding=0)``: 2-D cross-correlation
  with zero padding (what ``torch.nn.functional.conv2d`` computes),
  H' = (H + 2*padding - KH) // stride + 1
* ``max_pool2d_forward(x, kernel_size, stride)`` and
  ``max_pool2d_backward(grad_out, x, kernel_size, stride)``
* ``conv2d_output_shape(h, w, kernel_size, stride=1, padding=0, dilation=1)`` and
  ``conv2d_num_params(in_channels, out_channels, kernel_size, bias=True)``

Banned (the grader checks your source and what actually runs):
everything in ``torch.nn`` (``torch.nn.functional.*`` such as ``F.conv2d``,
``F.max_pool2d``, ``F.dropout``, ``F.unfold``, ``F.pad``, and every module),
every ``torch.conv*`` routine (``torch.conv1d``, ``torch.conv2d``,
``torch.conv3d``, ``torch.conv_tbc``, ``torch.conv_transpose1d``,
``torch.conv_transpose2d``, ``torch.conv_transpose3d``,
``torch.convolution``), every ``torch.max_pool*`` routine
(``torch.max_pool1d``, ``torch.max_pool1d_with_indices``,
``torch.max_pool2d``, ``torch.max_pool3d``), ``torch.dropout`` (and
``torch.native_dropout``, ``torch.feature_dropout``, ``torch.alpha_dropout``),
and autograd (``.backward()``, ``torch.autograd.*``, ``torch.func.*``).  Allowed: elementary tensor ops,
``Tensor.unfold``, ``as_strided``, ``einsum``, ``matmul``, indexing and loops.

Also banned: quantized modules (torch.ao), torch._C._nn, other libraries'
convolution and pooling (scipy.signal, scipy.ndimage, skimage, jax.lax, jax.nn,
flax, tensorflow.nn, keras.layers, keras.ops), and any other automatic
differentiation (jax.grad, jax.vjp, jax.jvp, jax.jacrev, jax.jacfwd,
autograd.grad, tensorflow.GradientTape).

Rules for every function:

* work for float32 and float64 on any device; return tensors on the input's
  device with the input's dtype (new tensors: ``device=x.device, dtype=x.dtype``);
* never modify the inputs in place;
* inputs with magnitudes up to 1e4 must give finite, correct results.

``dropout_forward`` draws random numbers with torch's default generator
(``torch.rand``, ``torch.bernoulli``, ...; do not reseed it).  It is graded by
its properties, not by one exact draw: the output agrees with the mask, the
fraction kept is 1 - p (a binomial test on 100,000 entries), and two calls
draw independent masks.

Check your work with::

    grade check -a layers
"""

import torch


def affine_forward(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Fully connected (affine) layer: out = x @ W + b.

    Args:
        x: inputs, shape (N, D), float32 or float64.  # (N, D)
        W: weights, shape (D, M), same dtype.  # (D, M)
        b: biases, shape (M,), same dtype.  # (M,)

    Returns:
        out of shape (N, M), same dtype and device as x.  # (N, M)

    Banned: torch.nn.functional.* (F.linear), torch.nn modules, autograd.

    Tip: from the interview notes -- a CNN replaces "Affine - ReLU" blocks by
    "Convolution - ReLU - (Pooling)" blocks, but keeps "Affine - ReLU" and
    "Affine - Softmax" near the output.
    """
    raise NotImplementedError


def relu_forward(x: torch.Tensor) -> torch.Tensor:
    """ReLU, elementwise: out = max(x, 0).

    Args:
        x: tensor of any shape, float32 or float64.

    Returns:
        Tensor of the same shape, dtype and device (0 where x <= 0).

    Banned: torch.nn.functional.* (F.relu), torch.nn modules, autograd.

    Tip: keep x (or the mask x > 0) for the backward pass: the gradient flows
    only where x > 0.
    """
    raise NotImplementedError


def dropout_forward(x: torch.Tensor, p: float, training: bool):
    """Inverted dropout.

    training=True: every entry is kept independently with probability 1 - p
    (mask True) and dropped with probability p (mask False);
        out = x * mask / (1 - p)
    training=False: out = x (unchanged values) and mask is all True.

    Args:
        x: tensor of any shape, float32 or float64.
        p: float in [0, 1), the probability of DROPPING an entry (as in torch).
        training: bool.

    Returns:
        (out, mask): out of x's shape, dtype and device; mask a bool tensor of
        x's shape (True = kept) on x's device.

    Edge cases: p = 0 keeps everything (out = x, mask all True).
    Use torch's default generator (torch.rand(x.shape, device=x.device) >= p,
    or torch.bernoulli); never reseed it inside the function.

    Banned: torch.nn.functional.* (F.dropout), torch.dropout, torch.nn modules, autograd.

    Tip (from the interview notes): at training time the output is divided by
    (1 - p) to compensate for the dropped units, so that every layer sees the
    same expected input at training and at test time -- and at test time the
    whole network is used, with no dropout and no scaling.
    """
    raise NotImplementedError


def dropout_backward(grad_out: torch.Tensor, mask: torch.Tensor, p: float) -> torch.Tensor:
    """Backward pass of inverted dropout at training time.

    dx = grad_out * mask / (1 - p)

    Args:
        grad_out: upstream gradient dL/dout, any shape, float32 or float64.
        mask: bool tensor of the same shape, the mask dropout_forward returned.
        p: the drop probability used in the forward pass, in [0, 1).

    Returns:
        dL/dx of grad_out's shape, dtype and device.

    Banned: torch.nn.functional.*, torch.nn modules, autograd.

    Tip (from the interview notes): when a network with dropout does not
    train, switch dropout off first (p = 0), check that the loss goes down,
    then switch it back on.
    """
    raise NotImplementedError


def conv2d_forward(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor, stride: int = 1, padding: int = 0):
    """2-D convolution layer (a cross-correlation, as torch.nn.functional.conv2d).

    With xp the input padded by `padding` zeros on EVERY side of H and W:
        out[n, f, i, j] = b[f] + sum_{c, u, v} W[f, c, u, v] * xp[n, c, i*stride + u, j*stride + v]
    The kernel is NOT flipped.

    Args:
        x: inputs, shape (N, C, H, W), float32 or float64.  # (N, C, H, W)
        W: filters, shape (F, C, KH, KW), same dtype.  # (F, C, KH, KW)
        b: biases, shape (F,), same dtype.  # (F,)
        stride: int >= 1, the same along H and W.
        padding: int >= 0, zeros added on each side (top, bottom, left, right).

    Returns:
        out of shape (N, F, H', W'), same dtype and device as x, with
        H' = (H + 2*padding - KH) // stride + 1 and W' = (W + 2*padding - KW) // stride + 1.
        # (N, F, H', W')

    Edge cases: kernels need not be square; the kernel may be as large as
    the (padded) input (then H' = 1); rows/columns that no window reaches are ignored.

    Banned: torch.nn.functional.* (F.conv2d, F.unfold, F.pad), torch.conv2d and
    every torch.conv*, torch.nn modules, autograd. Tensor.unfold and einsum are fine.

    Tip (from the interview notes): a kernel always has as many channels as
    its input -- a K x K kernel on a C-channel input is K x K x C -- and each
    of the F kernels produces one output channel.
    """
    raise NotImplementedError


def conv2d_backward(grad_out: torch.Tensor, x: torch.Tensor, W: torch.Tensor, stride: int = 1, padding: int = 0):
    """Backward pass of conv2d_forward: gradients with respect to x, W and b.

        dW[f, c, u, v] = sum_{n, i, j} grad_out[n, f, i, j] * xp[n, c, i*stride + u, j*stride + v]
        db[f]          = sum_{n, i, j} grad_out[n, f, i, j]
        dxp[n, c, i*stride + u, j*stride + v] += sum_f grad_out[n, f, i, j] * W[f, c, u, v]
        dx = dxp with the padding cropped off

    Args:
        grad_out: upstream gradient, shape (N, F, H', W').  # (N, F, H', W')
        x: the forward input, shape (N, C, H, W).  # (N, C, H, W)
        W: the filters, shape (F, C, KH, KW).  # (F, C, KH, KW)
        stride, padding: as in the forward pass.

    Returns:
        (dx, dW, db) with the shapes of x, W and b = (F,); same dtype and device.

    Edge cases: windows overlap when stride < kernel size (their contributions
    add up); input rows/columns that no window reaches get a zero gradient.

    Banned: as conv2d_forward (no torch.nn.grad.conv2d_input / conv2d_weight,
    no autograd).

    Tip: dW and db are sums over the batch -- the same filter is used for
    every example -- never averages.
    """
    raise NotImplementedError


def max_pool2d_forward(x: torch.Tensor, kernel_size: int, stride: int) -> torch.Tensor:
    """Max pooling over kernel_size x kernel_size windows, no padding.

        out[n, c, i, j] = max_{u, v < k} x[n, c, i*stride + u, j*stride + v]

    Args:
        x: inputs, shape (N, C, H, W), float32 or float64.  # (N, C, H, W)
        kernel_size: window side k (int >= 1).
        stride: step between windows (int >= 1; windows overlap when stride < k).

    Returns:
        out of shape (N, C, H', W'), H' = (H - k) // stride + 1 (same for W'),
        same dtype and device.  # (N, C, H', W')

    Banned: torch.nn.functional.* (F.max_pool2d), torch.max_pool2d, torch.nn modules, autograd.

    Tip (from the interview notes): pooling keeps the strongest response of a
    neighbourhood -- it reduces the size (and the redundancy of overlapping
    convolution windows) and makes features more robust to small shifts.
    """
    raise NotImplementedError


def max_pool2d_backward(grad_out: torch.Tensor, x: torch.Tensor, kernel_size: int, stride: int) -> torch.Tensor:
    """Backward pass of max_pool2d_forward: dL/dx.

    Each window's upstream gradient goes entirely to the position of the
    window's maximum. With ties, it goes to the FIRST maximum in row-major
    order of the window (as torch does). Where windows overlap, the
    gradients they send to the same input add up.

    Args:
        grad_out: upstream gradient, shape (N, C, H', W').  # (N, C, H', W')
        x: the forward input, shape (N, C, H, W).  # (N, C, H, W)
        kernel_size, stride: as in the forward pass.

    Returns:
        dx of shape (N, C, H, W), same dtype and device as x.  # (N, C, H, W)

    Banned: as max_pool2d_forward.

    Tip: argmax of the flattened window (window.reshape(..., k*k).argmax(-1))
    returns the first maximum in row-major order.
    """
    raise NotImplementedError


def conv2d_output_shape(h: int, w: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1):
    """Spatial output size of a Conv2d with a square kernel.

        h_out = floor((h + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1
        w_out = the same with w

    Args:
        h, w: input height and width (ints).
        kernel_size: side of the square kernel (int).
        stride, padding, dilation: ints (dilation d spreads the kernel taps d pixels apart).

    Returns:
        (h_out, w_out) as a tuple of two Python ints.

    Banned: torch.nn (do not build a Conv2d to measure it).

    Tip (from the interview notes): stacks of small 3x3 kernels are preferred
    to one large kernel (VGG): two 3x3 layers see a 5x5 region with fewer
    parameters and one more non-linearity.
    """
    raise NotImplementedError


def conv2d_num_params(in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> int:
    """Number of learnable parameters of Conv2d(in_channels, out_channels, kernel_size, bias=bias).

    Square kernels, no groups: each of the out_channels filters has
    in_channels * kernel_size * kernel_size weights, plus one bias when bias=True.

    Args:
        in_channels, out_channels, kernel_size: ints.
        bias: whether the layer has biases.

    Returns:
        A Python int.

    Banned: torch.nn (do not build a Conv2d to count its parameters).

    Tip (from the interview notes): parameter sharing is why convolutions
    need so few parameters -- the count does not depend on the image size.
    """
    raise NotImplementedError
