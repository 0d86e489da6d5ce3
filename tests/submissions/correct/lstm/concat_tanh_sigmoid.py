"""Correct LSTM: one matmul on [x, h], sigmoid written through tanh, per-step cell calls; BPTT on the concatenated weights."""
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


def lstm_backward(grad_output, x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    T, N, I = x.shape
    H = h0.shape[1]
    W = torch.cat([W_ih, W_hh], dim=1)  # (4H, I + H)
    b = b_ih + b_hh
    # forward, keeping what the backward needs
    cache = []
    h, c = h0, c0
    for t in range(T):
        xh = torch.cat([x[t], h], dim=1)
        z = xh @ W.t() + b
        i = _sigmoid(z[:, :H])
        f = _sigmoid(z[:, H:2 * H])
        g = torch.tanh(z[:, 2 * H:3 * H])
        o = _sigmoid(z[:, 3 * H:])
        c_next = f * c + i * g
        tanh_c = torch.tanh(c_next)
        cache.append((xh, c, i, f, g, o, tanh_c))
        h, c = o * tanh_c, c_next
    dW = torch.zeros_like(W)
    db = torch.zeros_like(b)
    dx = torch.zeros_like(x)
    dh = torch.zeros_like(h0)
    dc = torch.zeros_like(c0)
    for t in reversed(range(T)):
        xh, c_prev, i, f, g, o, tanh_c = cache[t]
        dh = dh + grad_output[t]
        dc = dc + dh * o * (1 - tanh_c ** 2)
        dz = torch.cat([dc * g * i * (1 - i),
                        dc * c_prev * f * (1 - f),
                        dc * i * (1 - g ** 2),
                        dh * tanh_c * o * (1 - o)], dim=1)
        dW += dz.t() @ xh
        db += dz.sum(0)
        dxh = dz @ W
        dx[t] = dxh[:, :I]
        dh = dxh[:, I:]
        dc = dc * f
    return {"x": dx, "h0": dh, "c0": dc, "W_ih": dW[:, :I], "W_hh": dW[:, I:], "b_ih": db, "b_hh": db.clone()}
