"""Student-style LSTM with one deliberate mistake: lstm_forget_gate_missing.

The forget gate is computed but the old cell state never enters the update
(c_new = i * g), in lstm_cell, which lstm_forward reuses.
"""

import torch


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    gates = torch.addmm(b_ih, x, W_ih.t()) + torch.addmm(b_hh, h, W_hh.t())
    in_gate = torch.sigmoid(gates[:, :H])
    forget_gate = torch.sigmoid(gates[:, H:2 * H])  # noqa: F841 (computed, then forgotten)
    cell_gate = torch.tanh(gates[:, 2 * H:3 * H])
    out_gate = torch.sigmoid(gates[:, 3 * H:])
    c_new = in_gate * cell_gate
    h_new = out_gate * torch.tanh(c_new)
    return h_new, c_new


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    h, c = h0, c0
    hs = []
    for x_t in x.unbind(0):
        h, c = lstm_cell(x_t, h, c, W_ih, W_hh, b_ih, b_hh)
        hs.append(h)
    return torch.stack(hs), (h, c)
