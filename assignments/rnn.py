"""Assignment ``rnn``: a vanilla RNN with backpropagation through time, and a GRU, by hand.

Implement one step and a whole sequence of a one-layer tanh RNN, its backward
pass through time (BPTT), and one step and a whole sequence of a GRU. The
results must equal ``torch.nn.RNNCell`` / ``torch.nn.RNN`` and
``torch.nn.GRUCell`` / ``torch.nn.GRU`` (one layer, batch_first=False) given
the same weights, and ``rnn_backward`` must equal what autograd would give.

Weights use PyTorch's layout: W_ih is (H, I) (GRU: (3H, I)), so the input
part of the pre-activation is ``x @ W_ih.T``. Both biases are added.

    RNN:  h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
    GRU (gate order r, z, n: rows [0:H], [H:2H], [2H:3H] of W_ih, W_hh, b_ih, b_hh):
          r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
          z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
          n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
          h' = (1 - z) * n + z * h

Banned (the grader checks statically and while your code runs):
    every torch.nn module (nn.RNN, nn.GRU, nn.RNNCell, nn.Linear, ...),
    torch.nn.functional.*, torch.rnn_tanh / rnn_relu / gru / lstm and their
    *_cell versions (and internal variants such as torch.quantized_gru and
    torch.mkldnn_rnn_layer), and autograd (.backward(), torch.autograd.*,
    torch.func.*). The point is to write the recurrence and its gradient
    yourself. Allowed: torch.sigmoid, torch.tanh, matmul/@, slicing, chunk,
    cat, stack, loops, ...

    Also banned: quantizable RNN and GRU modules (torch.ao), torch._C._nn,
    other libraries' recurrent layers (jax.nn, flax, tensorflow.keras,
    keras.layers), and any other automatic differentiation (jax.grad, jax.vjp,
    jax.jvp, jax.jacrev, jax.jacfwd, autograd.grad, tensorflow.GradientTape).

Rules for every function: inputs are torch.Tensors, float32 or float64, on any
device; outputs keep the input's dtype and device; never modify an input in
place.

Tip (from the interview notes): gradients in an RNN vanish or explode because
backpropagation multiplies by W_hh and by tanh' (which is near 0 once tanh
saturates) once per time step; clipping the gradient fixes the explosion,
gated cells (GRU, LSTM) the vanishing.

Check your work with::

    grade check -a rnn

(add the path of this file if it is not ./rnn.py).
"""

import torch


def rnn_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    """One time step of a tanh RNN (as torch.nn.RNNCell).

    h_new = tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)

    Args:
        x: (N, I) input at this step, float32/float64.
        h: (N, H) previous hidden state.
        W_ih: (H, I) input-to-hidden weights.
        W_hh: (H, H) hidden-to-hidden weights.
        b_ih: (H,) input bias.
        b_hh: (H,) hidden bias (both biases are added).

    Returns:
        h_new: (N, H), dtype and device of x.

    Banned: torch.nn modules, torch.nn.functional.*, torch.rnn_tanh(_cell),
    torch.rnn_relu(_cell), torch.gru*, torch.lstm*, autograd.
    torch.tanh is allowed.

    Tip: I and H may differ; if a shape error appears, check which side of
    each matrix product the transpose belongs to.
    """
    # pre = ...              # (N, H)
    raise NotImplementedError


def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    """Run a one-layer tanh RNN over a sequence (time-major, batch_first=False).

    For t = 0..T-1:  h_{t+1} = rnn_cell(x[t], h_t, ...), starting from h0.

    Args:
        x: (T, N, I) input sequence, float32/float64.
        h0: (N, H) initial hidden state.
        W_ih: (H, I), W_hh: (H, H), b_ih: (H,), b_hh: (H,) as in rnn_cell.

    Returns:
        (output, h_T):
            output: (T, N, H), output[t] is the hidden state AFTER step t
                (h0 itself is not part of the output).
            h_T: (N, H), the state after the last step (equal to output[-1]).
        Same as ``torch.nn.RNN(I, H)`` given these weights and h0 (whose h_n
        carries an extra leading layer dim of 1).

    Banned: as for rnn_cell.

    Tip (from the interview notes): the initial state h0 is usually all zeros,
    but it can be anything: only the first step sees it; every later step sees
    the state of the step before.
    """
    # output = ...           # (T, N, H)
    raise NotImplementedError


def rnn_backward(grad_output, x, h0, W_ih, W_hh, b_ih, b_hh):
    """Backpropagation through time (BPTT) of rnn_forward.

    L is some scalar loss of the forward's output; you get
    grad_output = dL/d output and return the gradients of L with respect to
    every input of rnn_forward. Recompute the forward pass (keep every h_t),
    then walk backwards in time, t = T-1 .. 0:

        dh   = grad_output[t] + dh_next          # dh_next: from step t+1 (zeros at t = T-1)
        da   = dh * (1 - h_{t+1}**2)             # through tanh; h_{t+1} = output[t]
        dx[t]  = da @ W_ih
        dW_ih += da.T @ x[t]
        dW_hh += da.T @ h_t                      # h_t = output[t-1], or h0 at t = 0
        db_ih += da.sum(0);  db_hh += da.sum(0)
        dh_next = da @ W_hh                      # flows into step t-1 (and into h0 at the end)

    Args:
        grad_output: (T, N, H) dL/d output, float32/float64.
        x: (T, N, I) input sequence.
        h0: (N, H) initial hidden state.
        W_ih: (H, I), W_hh: (H, H), b_ih: (H,), b_hh: (H,).

    Returns:
        dict with keys "x" (T, N, I), "h0" (N, H), "W_ih" (H, I),
        "W_hh" (H, H), "b_ih" (H,), "b_hh" (H,): each the gradient of L with
        respect to that input, shaped like it, dtype and device of x.

    Banned: as for rnn_cell, and in particular autograd (.backward(),
    torch.autograd.grad, torch.func.*): derive the gradient yourself.

    Tip (from the interview notes): the weights are shared by every time step,
    so their gradients are sums over all steps; and the hidden state gets
    gradient from two places, the output at its own step and the next step.
    """
    # grads = {"x": ..., "h0": ..., "W_ih": ..., "W_hh": ..., "b_ih": ..., "b_hh": ...}
    raise NotImplementedError


def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    """One GRU time step (as torch.nn.GRUCell), gate order r, z, n.

    gi = x @ W_ih.T + b_ih        # (N, 3H): [i_r | i_z | i_n]
    gh = h @ W_hh.T + b_hh        # (N, 3H): [h_r | h_z | h_n]
    r = sigmoid(i_r + h_r)        # reset gate
    z = sigmoid(i_z + h_z)        # update gate
    n = tanh(i_n + r * h_n)       # candidate: r multiplies (W_hn h + b_hn), bias included
    h_new = (1 - z) * n + z * h

    Args:
        x: (N, I) input, float32/float64.
        h: (N, H) previous hidden state.
        W_ih: (3H, I), rows in gate order r, z, n.
        W_hh: (3H, H).
        b_ih: (3H,); b_hh: (3H,).

    Returns:
        h_new: (N, H), dtype and device of x.

    Banned: torch.nn modules, torch.nn.functional.*, torch.gru, torch.gru_cell,
    torch.rnn_*, torch.lstm*, autograd. torch.sigmoid and torch.tanh are allowed.

    Tip (from the interview notes): the GRU was introduced against vanishing
    gradients: z decides how much of the old state is kept (z = 1 copies h
    unchanged), r how much of it is used to build the candidate n. Mind
    PyTorch's order r, z, n (Keras uses z, r, h).
    """
    # r = ...                # (N, H)
    raise NotImplementedError


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    """Run a one-layer GRU over a sequence (time-major, batch_first=False).

    Args:
        x: (T, N, I) input sequence, float32/float64.
        h0: (N, H) initial hidden state.
        W_ih: (3H, I), W_hh: (3H, H), b_ih: (3H,), b_hh: (3H,) as in gru_cell.

    Returns:
        (output, h_T):
            output: (T, N, H), output[t] is the hidden state after step t.
            h_T: (N, H), the state after the last step.
        Same as ``torch.nn.GRU(I, H)`` given these weights and h0.

    Banned: as for gru_cell.

    Tip: the input half x @ W_ih.T + b_ih does not depend on the state, so it
    can be computed for all T steps in one matmul before the loop.
    """
    # output = ...           # (T, N, H)
    raise NotImplementedError
