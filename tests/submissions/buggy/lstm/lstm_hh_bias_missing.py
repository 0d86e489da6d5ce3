"""Student-style LSTM with one deliberate mistake: lstm_hh_bias_missing.

Only b_ih is added to the gates (one bias, as in the textbook formula),
in lstm_cell, which lstm_forward reuses.
"""

import torch


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[-1]
    Wi = W_ih.reshape(4, H, -1)
    Wh = W_hh.reshape(4, H, H)
    b = b_ih.reshape(4, 1, H)
    z = torch.einsum("ni,ghi->gnh", x, Wi) + torch.einsum("nk,ghk->gnh", h, Wh) + b
    zi, zf, zg, zo = z
    c_new = torch.sigmoid(zf) * c + torch.sigmoid(zi) * torch.tanh(zg)
    h_new = torch.sigmoid(zo) * torch.tanh(c_new)
    return h_new, c_new


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    T, N = x.shape[:2]
    output = torch.empty(T, N, h0.shape[1], dtype=x.dtype, device=x.device)
    h, c = h0, c0
    for t in range(T):
        h, c = lstm_cell(x[t], h, c, W_ih, W_hh, b_ih, b_hh)
        output[t] = h
    return output, (h, c)
