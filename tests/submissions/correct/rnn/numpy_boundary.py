"""Correct RNN/GRU computed in numpy: tensors converted at the boundary, dtype and device kept."""
import numpy as np
import torch


def _np(t):
    return t.detach().cpu().numpy()


def _back(a, like):
    return torch.from_numpy(np.ascontiguousarray(a)).to(like)


def _sigmoid(z):
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def _rnn_np(x, h0, Wx, Wh, b):
    T = x.shape[0]
    hs = np.zeros((T,) + h0.shape, dtype=x.dtype)
    h = h0
    for t in range(T):
        h = np.tanh(x[t] @ Wx.T + h @ Wh.T + b)
        hs[t] = h
    return hs


def rnn_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    out = np.tanh(_np(x) @ _np(W_ih).T + _np(b_ih) + _np(h) @ _np(W_hh).T + _np(b_hh))
    return _back(out, x)


def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    hs = _rnn_np(_np(x), _np(h0), _np(W_ih), _np(W_hh), _np(b_ih) + _np(b_hh))
    return _back(hs, x), _back(hs[-1], x)


def rnn_backward(grad_output, x, h0, W_ih, W_hh, b_ih, b_hh):
    xs, h0n, Wx, Wh = _np(x), _np(h0), _np(W_ih), _np(W_hh)
    dout = _np(grad_output)
    hs = _rnn_np(xs, h0n, Wx, Wh, _np(b_ih) + _np(b_hh))
    dx = np.zeros_like(xs)
    dWx, dWh = np.zeros_like(Wx), np.zeros_like(Wh)
    db = np.zeros(Wx.shape[0], dtype=xs.dtype)
    dh_next = np.zeros_like(h0n)
    for t in range(xs.shape[0] - 1, -1, -1):
        prev = hs[t - 1] if t > 0 else h0n
        da = (dout[t] + dh_next) * (1 - hs[t] ** 2)
        dx[t] = da @ Wx
        dWx += da.T @ xs[t]
        dWh += da.T @ prev
        db += da.sum(axis=0)
        dh_next = da @ Wh
    return {"x": _back(dx, x), "h0": _back(dh_next, x), "W_ih": _back(dWx, x), "W_hh": _back(dWh, x),
            "b_ih": _back(db, x), "b_hh": _back(db.copy(), x)}


def _gru_np(x, h, Wi, Wh, bi, bh):
    H = h.shape[1]
    gi = x @ Wi.T + bi
    gh = h @ Wh.T + bh
    r = _sigmoid(gi[:, :H] + gh[:, :H])
    z = _sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h


def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    return _back(_gru_np(_np(x), _np(h), _np(W_ih), _np(W_hh), _np(b_ih), _np(b_hh)), x)


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    xs, Wi, Wh, bi, bh = _np(x), _np(W_ih), _np(W_hh), _np(b_ih), _np(b_hh)
    h = _np(h0)
    outs = []
    for t in range(xs.shape[0]):
        h = _gru_np(xs[t], h, Wi, Wh, bi, bh)
        outs.append(h)
    return _back(np.stack(outs), x), _back(h, x)
