"""Student-style LSTM with one deliberate mistake: lstm_state_not_carried.

lstm_cell is correct; lstm_forward feeds (h0, c0) to every step instead of
the state of the previous step.
"""

import torch


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    gates = x @ W_ih.t() + b_ih + h @ W_hh.t() + b_hh
    i = torch.sigmoid(gates[:, 0:H])
    f = torch.sigmoid(gates[:, H:2 * H])
    g = torch.tanh(gates[:, 2 * H:3 * H])
    o = torch.sigmoid(gates[:, 3 * H:4 * H])
    c_new = f * c + i * g
    h_new = o * torch.tanh(c_new)
    return h_new, c_new


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    T = x.shape[0]
    hs = []
    for t in range(T):
        h_t, c_t = lstm_cell(x[t], h0, c0, W_ih, W_hh, b_ih, b_hh)
        hs.append(h_t)
    return torch.stack(hs), (h_t, c_t)
