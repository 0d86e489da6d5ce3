"""Correct RNN/GRU, CS231n style: step forward/backward functions with a cache tuple, loops over time."""
import torch


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    # CS231n keeps Wx as (I, H); torch stores W_ih as (H, I), so we pass transposes
    next_h = torch.tanh(x.mm(Wx) + prev_h.mm(Wh) + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    dtanh = dnext_h * (1 - next_h ** 2)
    dx = dtanh.mm(Wx.t())
    dprev_h = dtanh.mm(Wh.t())
    dWx = x.t().mm(dtanh)
    dWh = prev_h.t().mm(dtanh)
    db = dtanh.sum(dim=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    next_h, _ = rnn_step_forward(x, h, W_ih.t(), W_hh.t(), b_ih + b_hh)
    return next_h


def _forward_with_caches(x, h0, W_ih, W_hh, b_ih, b_hh):
    T, N, _ = x.shape
    H = h0.shape[1]
    h = torch.empty((T, N, H), dtype=x.dtype, device=x.device)
    caches = []
    prev_h = h0
    for t in range(T):
        prev_h, cache = rnn_step_forward(x[t], prev_h, W_ih.t(), W_hh.t(), b_ih + b_hh)
        h[t] = prev_h
        caches.append(cache)
    return h, caches


def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    h, _ = _forward_with_caches(x, h0, W_ih, W_hh, b_ih, b_hh)
    return h, h[-1]


def rnn_backward(grad_output, x, h0, W_ih, W_hh, b_ih, b_hh):
    _, caches = _forward_with_caches(x, h0, W_ih, W_hh, b_ih, b_hh)
    T, N, H = grad_output.shape
    dx = torch.zeros_like(x)
    dWx = torch.zeros_like(W_ih.t())
    dWh = torch.zeros_like(W_hh)
    db = torch.zeros_like(b_ih)
    dprev_h = torch.zeros((N, H), dtype=x.dtype, device=x.device)
    for t in reversed(range(T)):
        dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(grad_output[t] + dprev_h, caches[t])
        dx[t] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return {"x": dx, "h0": dprev_h, "W_ih": dWx.t(), "W_hh": dWh.t(), "b_ih": db, "b_hh": db.clone()}


def _sigmoid(z):
    return 1.0 / (1.0 + torch.exp(-z))


def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    W_ir, W_iz, W_in = W_ih[:H], W_ih[H:2 * H], W_ih[2 * H:]
    W_hr, W_hz, W_hn = W_hh[:H], W_hh[H:2 * H], W_hh[2 * H:]
    b_ir, b_iz, b_in = b_ih[:H], b_ih[H:2 * H], b_ih[2 * H:]
    b_hr, b_hz, b_hn = b_hh[:H], b_hh[H:2 * H], b_hh[2 * H:]
    r = _sigmoid(x.mm(W_ir.t()) + b_ir + h.mm(W_hr.t()) + b_hr)
    z = _sigmoid(x.mm(W_iz.t()) + b_iz + h.mm(W_hz.t()) + b_hz)
    n = torch.tanh(x.mm(W_in.t()) + b_in + r * (h.mm(W_hn.t()) + b_hn))
    return (1 - z) * n + z * h


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    outputs = []
    h = h0
    for t in range(x.shape[0]):
        h = gru_cell(x[t], h, W_ih, W_hh, b_ih, b_hh)
        outputs.append(h)
    return torch.stack(outputs), h
