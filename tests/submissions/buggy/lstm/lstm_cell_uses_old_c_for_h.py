"""Student-style LSTM with one deliberate mistake: lstm_cell_uses_old_c_for_h.

The hidden state is computed from the previous cell state, in lstm_cell and
in the inlined step of lstm_forward.
"""

import torch


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[-1]
    z = torch.cat([x, h], dim=1) @ torch.cat([W_ih, W_hh], dim=1).T + b_ih + b_hh
    i = torch.sigmoid(z[:, :H])
    f = torch.sigmoid(z[:, H:2 * H])
    g = torch.tanh(z[:, 2 * H:3 * H])
    o = torch.sigmoid(z[:, 3 * H:])
    h_next = o * torch.tanh(c)
    c_next = f * c + i * g
    return h_next, c_next


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    T, N, _ = x.shape
    H = h0.shape[1]
    out = torch.zeros(T, N, H, dtype=x.dtype, device=x.device)
    h, c = h0, c0
    for t in range(T):
        z = x[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh
        i = torch.sigmoid(z[:, :H])
        f = torch.sigmoid(z[:, H:2 * H])
        g = torch.tanh(z[:, 2 * H:3 * H])
        o = torch.sigmoid(z[:, 3 * H:])
        h = o * torch.tanh(c)
        c = f * c + i * g
        out[t] = h
    return out, (h, c)
