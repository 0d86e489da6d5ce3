"""Reference implementation of the ``lstm`` assignment.

One-layer LSTM, gate order (i, f, g, o) as in ``torch.nn.LSTM``
(Hochreiter & Schmidhuber, 1997; equations as in the ``torch.nn.LSTM`` docs):

    gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh       (N, 4H)
    i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the four H-wide chunks
    c' = f * c + i * g
    h' = o * tanh(c')

Backpropagation through time (``lstm_backward``; e.g. Graves, 2012,
*Supervised Sequence Labelling with Recurrent Neural Networks*, section 4.6,
or CS231n assignment 3): walking backwards with dh = ∂L/∂output[t] + the
recurrent term from t+1 and dc = the cell term from t+1,

    dc  += dh * o * (1 - tanh(c')²)            (the cell path: c' feeds h' and c'' = f' c' + ...)
    do   = dh * tanh(c'),  di = dc * g,  dg = dc * i,  df = dc * c
    da   = [di i(1-i), df f(1-f), dg (1-g²), do o(1-o)]   (N, 4H), gate order i, f, g, o
    dx_t = da W_ih,  dh_prev = da W_hh,  dc_prev = dc * f
    dW_ih = Σ_t daᵀ x_t,  dW_hh = Σ_t daᵀ h_{t-1},  db_ih = db_hh = Σ_t Σ_n da

Hand-written: no ``torch.nn`` modules or functional, no ``torch.lstm`` /
``torch.lstm_cell``, no autograd.  ``torch.sigmoid`` and ``torch.tanh`` are allowed (and
numerically stable for any magnitude).
"""

from __future__ import annotations

import torch

__all__ = ["lstm_cell", "lstm_forward", "lstm_backward"]


def _step(gates_x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, W_hh: torch.Tensor, b_hh: torch.Tensor):
    """One LSTM step given the input part of the gates (x @ W_ih.T + b_ih)."""
    H = h.shape[-1]
    gates = gates_x + h @ W_hh.T + b_hh  # (N, 4H)
    i = torch.sigmoid(gates[..., 0 * H:1 * H])  # (N, H) input gate
    f = torch.sigmoid(gates[..., 1 * H:2 * H])  # (N, H) forget gate
    g = torch.tanh(gates[..., 2 * H:3 * H])  # (N, H) candidate cell
    o = torch.sigmoid(gates[..., 3 * H:4 * H])  # (N, H) output gate
    c_new = f * c + i * g  # (N, H)
    h_new = o * torch.tanh(c_new)  # (N, H)
    return h_new, c_new


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """One LSTM step.

    Args:
        x: (N, I) input.
        h, c: (N, H) previous hidden and cell state.
        W_ih: (4H, I), W_hh: (4H, H), b_ih, b_hh: (4H,), rows in gate order i, f, g, o.

    Returns:
        (h_new, c_new), each (N, H), dtype and device of x.
    """
    return _step(x @ W_ih.T + b_ih, h, c, W_hh, b_hh)


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Run a one-layer LSTM over a sequence (time-major, like ``batch_first=False``).

    Args:
        x: (T, N, I) input sequence.
        h0, c0: (N, H) initial state.
        W_ih, W_hh, b_ih, b_hh: as in :func:`lstm_cell`.

    Returns:
        (output, (h_T, c_T)): output (T, N, H) stacks h_1..h_T; h_T, c_T (N, H).
    """
    gates_x = x @ W_ih.T + b_ih  # (T, N, 4H): the input part, for every step at once
    h, c = h0, c0  # (N, H), (N, H)
    outputs = []
    for t in range(x.shape[0]):
        h, c = _step(gates_x[t], h, c, W_hh, b_hh)  # (N, H), (N, H)
        outputs.append(h)
    output = torch.stack(outputs, dim=0)  # (T, N, H)
    return output, (h, c)


def lstm_backward(grad_output, x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Backpropagation through time of :func:`lstm_forward`.

    The forward pass is recomputed keeping every gate; then, from t = T-1
    down to 0, the hidden state receives ``grad_output[t]`` plus the
    recurrent gradient from step t+1 (through ``W_hh``), and the cell state
    receives the gradient from step t+1 through the forget gate.

    Args:
        grad_output: (T, N, H) ∂L/∂output of :func:`lstm_forward`.
        x: (T, N, I); h0, c0: (N, H); W_ih: (4H, I); W_hh: (4H, H); b_ih, b_hh: (4H,).

    Returns:
        dict with keys ``"x"``, ``"h0"``, ``"c0"``, ``"W_ih"``, ``"W_hh"``,
        ``"b_ih"``, ``"b_hh"``, each shaped like that input, dtype and device of ``x``.
    """
    T = x.shape[0]
    H = h0.shape[-1]
    gates_x = x @ W_ih.T + b_ih  # (T, N, 4H)
    hs, cs, acts = [h0], [c0], []
    for t in range(T):
        gates = gates_x[t] + hs[-1] @ W_hh.T + b_hh  # (N, 4H)
        i = torch.sigmoid(gates[..., 0 * H:1 * H])  # (N, H)
        f = torch.sigmoid(gates[..., 1 * H:2 * H])  # (N, H)
        g = torch.tanh(gates[..., 2 * H:3 * H])  # (N, H)
        o = torch.sigmoid(gates[..., 3 * H:4 * H])  # (N, H)
        c = f * cs[-1] + i * g  # (N, H)
        tc = torch.tanh(c)  # (N, H)
        hs.append(o * tc)
        cs.append(c)
        acts.append((i, f, g, o, tc))

    dx = torch.zeros_like(x)  # (T, N, I)
    dW_ih = torch.zeros_like(W_ih)  # (4H, I)
    dW_hh = torch.zeros_like(W_hh)  # (4H, H)
    db = torch.zeros_like(b_ih)  # (4H,)
    dh_next = torch.zeros_like(h0)  # (N, H)
    dc_next = torch.zeros_like(c0)  # (N, H)
    for t in range(T - 1, -1, -1):
        i, f, g, o, tc = acts[t]
        dh = grad_output[t] + dh_next  # (N, H)
        dc = dc_next + dh * o * (1 - tc * tc)  # (N, H)
        d_i = dc * g * i * (1 - i)  # (N, H) through the sigmoid of the input gate
        d_f = dc * cs[t] * f * (1 - f)  # (N, H)
        d_g = dc * i * (1 - g * g)  # (N, H)
        d_o = dh * tc * o * (1 - o)  # (N, H)
        da = torch.cat([d_i, d_f, d_g, d_o], dim=-1)  # (N, 4H), gate order i, f, g, o
        dx[t] = da @ W_ih  # (N, I)
        dW_ih = dW_ih + da.T @ x[t]  # (4H, I)
        dW_hh = dW_hh + da.T @ hs[t]  # (4H, H)
        db = db + da.sum(dim=0)  # (4H,)
        dh_next = da @ W_hh  # (N, H)
        dc_next = dc * f  # (N, H)
    return {"x": dx, "h0": dh_next, "c0": dc_next, "W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db, "b_hh": db.clone()}
