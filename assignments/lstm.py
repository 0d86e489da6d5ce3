"""Assignment ``lstm``: the forward pass of an LSTM, by hand.

Implement one LSTM step (``lstm_cell``) and a one-layer LSTM over a whole
sequence (``lstm_forward``) that give the same results as ``torch.nn.LSTMCell``
and a one-layer ``torch.nn.LSTM`` (batch_first=False) with the same weights.

Gate order is i, f, g, o, as in PyTorch: rows [0:H] of W_ih, W_hh, b_ih and
b_hh belong to the input gate, [H:2H] to the forget gate, [2H:3H] to the
candidate cell g, [3H:4H] to the output gate.

Banned (the grader checks statically and while your code runs):
    every torch.nn module (nn.LSTM, nn.LSTMCell, nn.Linear, ...),
    torch.nn.functional.*, torch.lstm, torch.lstm_cell (and their internal
    variants such as torch.mkldnn_rnn_layer), and autograd
    (.backward(), torch.autograd.*, torch.func.*).
    The point is to write the recurrence yourself.
    Allowed: torch.sigmoid, torch.tanh, matmul/@, slicing, chunk, cat, stack, ...

    Also banned: quantizable LSTM modules (torch.ao), torch._C._nn, other
    libraries' LSTMs (jax.nn, flax, tensorflow.keras, keras.layers), and any
    other automatic differentiation (jax.grad, jax.vjp, jax.jvp, jax.jacrev,
    jax.jacfwd, autograd.grad, tensorflow.GradientTape).

Rules for every function: inputs are torch.Tensors, float32 or float64, on any
device; outputs keep the input's dtype and device; never modify an input in
place.

Check your work with::

    grade check -a lstm

(add the path of this file if it is not ./lstm.py).
"""

import torch


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """One LSTM time step.

    gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh        # (N, 4H)
    i = sigmoid(gates[:, 0:H])        # input gate
    f = sigmoid(gates[:, H:2H])       # forget gate
    g = tanh(gates[:, 2H:3H])         # candidate cell
    o = sigmoid(gates[:, 3H:4H])      # output gate
    c_new = f * c + i * g
    h_new = o * tanh(c_new)

    Args:
        x: (N, I) input at this step, float32/float64.
        h: (N, H) previous hidden state.
        c: (N, H) previous cell state.
        W_ih: (4H, I) input-to-hidden weights (gate order i, f, g, o).
        W_hh: (4H, H) hidden-to-hidden weights.
        b_ih: (4H,) input bias.
        b_hh: (4H,) hidden bias (both biases are added).

    Returns:
        (h_new, c_new): each (N, H), dtype and device of x.

    Banned: torch.nn modules, torch.nn.functional.*, torch.lstm,
    torch.lstm_cell, autograd. torch.sigmoid and torch.tanh are allowed.

    Tip (from the interview notes): the forget gate decides how much of the
    old memory c is kept, the input gate how much new content g is written,
    and the output gate how much of the (updated) memory reaches h. Gates use
    sigmoid (values in 0..1); the states use tanh.
    """
    # gates = ...            # (N, 4H)
    raise NotImplementedError


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Run a one-layer LSTM over a sequence (time-major, batch_first=False).

    For t = 0..T-1:  (h_t, c_t) = lstm_cell(x[t], h_{t-1}, c_{t-1}, ...),
    starting from (h0, c0).

    Args:
        x: (T, N, I) input sequence, float32/float64.
        h0: (N, H) initial hidden state.
        c0: (N, H) initial cell state.
        W_ih: (4H, I), W_hh: (4H, H), b_ih: (4H,), b_hh: (4H,) as in lstm_cell.

    Returns:
        (output, (h_T, c_T)):
            output: (T, N, H), output[t] is the hidden state after step t.
            h_T, c_T: (N, H), the state after the last step.
        Same as ``torch.nn.LSTM(I, H)`` given these weights and (h0, c0)
        (whose h_n/c_n carry an extra leading layer dim of 1).

    Banned: torch.nn modules, torch.nn.functional.*, torch.lstm,
    torch.lstm_cell, autograd.

    Tip: the state must be carried from one step to the next; only the first
    step sees (h0, c0).
    """
    # output = ...           # (T, N, H)
    raise NotImplementedError
