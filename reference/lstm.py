"""Reference implementation of the ``lstm`` assignment.

One-layer LSTM, gate order (i, f, g, o) as in ``torch.nn.LSTM``
(Hochreiter & Schmidhuber, 1997; equations as in the ``torch.nn.LSTM`` docs):

    gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh       (N, 4H)
    i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the four H-wide chunks
    c' = f * c + i * g
    h' = o * tanh(c')

Hand-written: no ``torch.nn`` modules or functional, no ``torch.lstm`` /
``torch.lstm_cell``.  ``torch.sigmoid`` and ``torch.tanh`` are allowed (and
numerically stable for any magnitude).
"""

from __future__ import annotations

import torch

__all__ = ["lstm_cell", "lstm_forward"]


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
