"""Correct LSTM: one matmul on [x, h], sigmoid written through tanh, per-step cell calls."""
import torch


def _sigmoid(z):
    return 0.5 * (1.0 + torch.tanh(0.5 * z))


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    W = torch.cat([W_ih, W_hh], dim=1)  # (4H, I + H)
    z = torch.cat([x, h], dim=1) @ W.t() + (b_ih + b_hh)  # (N, 4H)
    i = _sigmoid(z[:, :H])
    f = _sigmoid(z[:, H:2 * H])
    g = torch.tanh(z[:, 2 * H:3 * H])
    o = _sigmoid(z[:, 3 * H:])
    c_next = f * c + i * g
    h_next = o * torch.tanh(c_next)
    return h_next, c_next


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    h, c = h0, c0
    hs = []
    for x_t in x.unbind(0):
        h, c = lstm_cell(x_t, h, c, W_ih, W_hh, b_ih, b_hh)
        hs.append(h)
    return torch.stack(hs), (h, c)
