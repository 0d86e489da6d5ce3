"""Assignment ``lstm``: the forward pass of an LSTM and its backward pass through time, by hand.

Implement one LSTM step (``lstm_cell``) and a one-layer LSTM over a whole
sequence (``lstm_forward``) that give the same results as ``torch.nn.LSTMCell``
and a one-layer ``torch.nn.LSTM`` (batch_first=False) with the same weights,
and backpropagation through time (``lstm_backward``) that gives the same
gradients as autograd would.

Gate order is i, f, g, o, as in PyTorch: rows [0:H] of W_ih, W_hh, b_ih and
b_hh belong to the input gate, [H:2H] to the forget gate, [2H:3H] to the
candidate cell g, [3H:4H] to the output gate.

Banned (the grader checks statically and while your code runs):
    every torch.nn module (nn.LSTM, nn.LSTMCell, nn.Linear, ...),
    torch.nn.functional.*, torch.lstm, torch.lstm_cell (and their internal
    variants such as torch.mkldnn_rnn_layer), and autograd
    (.backward(), torch.autograd.*, torch.func.*).
    The point is to write the recurrence and its gradient yourself.
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


def lstm_backward(grad_output, x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Backpropagation through time (BPTT) of lstm_forward.

    L is some scalar loss of the forward's output; you get
    grad_output = dL/d output and return the gradient of L with respect to
    every input of lstm_forward. Recompute the forward pass keeping every
    gate (i, f, g, o) and every state (h_t, c_t), then walk backwards,
    t = T-1 .. 0, carrying dh_next and dc_next (zeros at t = T-1):

        dh = grad_output[t] + dh_next
        dc = dc_next + dh * o * (1 - tanh(c_t)**2)     # c_t = the new cell state of step t
        do = dh * tanh(c_t)
        di = dc * g;   dg = dc * i;   df = dc * c_{t-1}
        da = cat([di * i*(1-i), df * f*(1-f), dg * (1-g**2), do * o*(1-o)])   # (N, 4H)
        dx[t] = da @ W_ih;   dW_ih += da.T @ x[t];   dW_hh += da.T @ h_{t-1}
        db_ih += da.sum(0);  db_hh += da.sum(0)
        dh_next = da @ W_hh;  dc_next = dc * f

    and at the end dh0 = dh_next, dc0 = dc_next.

    Args:
        grad_output: (T, N, H) dL/d output, float32/float64.
        x: (T, N, I) input sequence.
        h0, c0: (N, H) initial hidden and cell state.
        W_ih: (4H, I), W_hh: (4H, H), b_ih: (4H,), b_hh: (4H,), gate order i, f, g, o.

    Returns:
        dict with keys "x" (T, N, I), "h0" (N, H), "c0" (N, H), "W_ih" (4H, I),
        "W_hh" (4H, H), "b_ih" (4H,), "b_hh" (4H,): each the gradient of L with
        respect to that input, dtype and device of x.

    Banned: as for lstm_cell, and in particular autograd (.backward(),
    torch.autograd.grad, torch.func.*): derive the gradient yourself.

    Tip (from the interview notes): the LSTM fights vanishing gradients
    through its cell state: c_{t-1} reaches c_t multiplied only by the forget
    gate f, so the cell gradient flows back as dc * f, with no tanh' and no
    W_hh in between. Forgetting that path (or adding it only once) is the
    usual bug.
    """
    # grads = {"x": ..., "h0": ..., "c0": ..., "W_ih": ..., "W_hh": ..., "b_ih": ..., "b_hh": ...}
    raise NotImplementedError
