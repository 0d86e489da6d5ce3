"""Correct LSTM: weights viewed as (4, H, in) blocks, einsum, preallocated output."""
import torch


def _gates(x, h, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[-1]
    Wi = W_ih.reshape(4, H, -1)  # (4, H, I)
    Wh = W_hh.reshape(4, H, H)  # (4, H, H)
    z = torch.einsum("ni,ghi->gnh", x, Wi) + torch.einsum("nk,ghk->gnh", h, Wh)
    z = z + (b_ih + b_hh).reshape(4, 1, H)
    return z  # (4, N, H) in order i, f, g, o


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    zi, zf, zg, zo = _gates(x, h, W_ih, W_hh, b_ih, b_hh)
    c_new = torch.sigmoid(zf) * c + torch.sigmoid(zi) * torch.tanh(zg)
    h_new = torch.sigmoid(zo) * torch.tanh(c_new)
    return h_new, c_new


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    T, N = x.shape[0], x.shape[1]
    H = h0.shape[1]
    output = torch.empty(T, N, H, dtype=x.dtype, device=x.device)
    h, c = h0.clone(), c0.clone()
    for t in range(T):
        zi, zf, zg, zo = _gates(x[t], h, W_ih, W_hh, b_ih, b_hh)
        c = torch.sigmoid(zf) * c + torch.sigmoid(zi) * torch.tanh(zg)
        h = torch.sigmoid(zo) * torch.tanh(c)
        output[t] = h
    return output, (h, c)
