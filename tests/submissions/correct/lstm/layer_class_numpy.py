"""Correct LSTM as a layer class (forward/backward with a cache, CS231n style) computed in numpy;
tensors are converted at the boundary, dtype and device kept."""
import numpy as np
import torch


def sigmoid(x):
    # stable: never exponentiate a large positive number
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


class LSTM:
    def __init__(self, Wx, Wh, b):
        self.Wx, self.Wh, self.b = Wx, Wh, b  # numpy, torch layout: (4H, I), (4H, H), (4H,)
        self.cache = None

    def step(self, x, prev_h, prev_c):
        H = prev_h.shape[1]
        a = x @ self.Wx.T + prev_h @ self.Wh.T + self.b
        i = sigmoid(a[:, :H])
        f = sigmoid(a[:, H:2 * H])
        g = np.tanh(a[:, 2 * H:3 * H])
        o = sigmoid(a[:, 3 * H:])
        next_c = f * prev_c + i * g
        next_h = o * np.tanh(next_c)
        return next_h, next_c, (x, prev_h, prev_c, i, f, g, o, next_c)

    def forward(self, xs, h0, c0):
        h, c = h0, c0
        hs, caches = [], []
        for x in xs:
            h, c, cache = self.step(x, h, c)
            hs.append(h)
            caches.append(cache)
        self.cache = caches
        return np.stack(hs), h, c

    def backward(self, dhs):
        dWx, dWh, db = np.zeros_like(self.Wx), np.zeros_like(self.Wh), np.zeros_like(self.b)
        dxs = []
        dprev_h = np.zeros_like(dhs[0])
        dprev_c = np.zeros_like(dhs[0])
        for t in reversed(range(len(self.cache))):
            x, prev_h, prev_c, i, f, g, o, next_c = self.cache[t]
            dnext_h = dhs[t] + dprev_h
            tc = np.tanh(next_c)
            dnext_c = dprev_c + dnext_h * o * (1 - tc ** 2)
            da = np.concatenate([dnext_c * g * i * (1 - i), dnext_c * prev_c * f * (1 - f),
                                 dnext_c * i * (1 - g ** 2), dnext_h * tc * o * (1 - o)], axis=1)
            dxs.append(da @ self.Wx)
            dWx += da.T @ x
            dWh += da.T @ prev_h
            db += da.sum(axis=0)
            dprev_h = da @ self.Wh
            dprev_c = dnext_c * f
        return np.stack(dxs[::-1]), dprev_h, dprev_c, dWx, dWh, db

    def gradients(self, xs, h0, c0, dhs):
        self.forward(xs, h0, c0)
        return self.backward(dhs)


def _np(t):
    return t.detach().cpu().numpy()


def _t(a, like):
    return torch.from_numpy(np.ascontiguousarray(a)).to(like)


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    layer = LSTM(_np(W_ih), _np(W_hh), _np(b_ih) + _np(b_hh))
    h_new, c_new, _ = layer.step(_np(x), _np(h), _np(c))
    return _t(h_new, x), _t(c_new, x)


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    layer = LSTM(_np(W_ih), _np(W_hh), _np(b_ih) + _np(b_hh))
    hs, h, c = layer.forward(_np(x), _np(h0), _np(c0))
    return _t(hs, x), (_t(h, x), _t(c, x))


def lstm_backward(grad_output, x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    layer = LSTM(_np(W_ih), _np(W_hh), _np(b_ih) + _np(b_hh))
    dx, dh0, dc0, dWx, dWh, db = layer.gradients(_np(x), _np(h0), _np(c0), _np(grad_output))
    return {"x": _t(dx, x), "h0": _t(dh0, x), "c0": _t(dc0, x), "W_ih": _t(dWx, x), "W_hh": _t(dWh, x),
            "b_ih": _t(db, x), "b_hh": _t(db.copy(), x)}
