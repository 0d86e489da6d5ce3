"""Correct LSTM as a layer with caches (CS231n's lstm_step_forward / lstm_step_backward shape): the cell
returns a namedtuple LSTMState(h, c), the sequence returns (output, LSTMState); BPTT walks the cached steps.
"""
from collections import namedtuple

import torch

LSTMState = namedtuple("LSTMState", ["h", "c"])


def _sigmoid(z):
    # stable for large |z|
    e = torch.exp(-torch.abs(z))
    return torch.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class LSTMLayer:
    def __init__(self, W_ih, W_hh, b_ih, b_hh):
        self.W_ih, self.W_hh = W_ih, W_hh
        self.b = b_ih + b_hh
        self.H = W_hh.shape[1]
        self.steps = []

    def step_forward(self, x, prev):
        H = self.H
        a = x @ self.W_ih.T + prev.h @ self.W_hh.T + self.b
        ai, af, ag, ao = a.split(H, dim=1)
        i, f, g, o = _sigmoid(ai), _sigmoid(af), torch.tanh(ag), _sigmoid(ao)
        c = f * prev.c + i * g
        tc = torch.tanh(c)
        h = o * tc
        self.steps.append((x, prev, i, f, g, o, tc))
        return LSTMState(h, c)

    def forward(self, xs, state):
        hs = []
        for t in range(xs.shape[0]):
            state = self.step_forward(xs[t], state)
            hs.append(state.h)
        return torch.stack(hs, dim=0), state

    def step_backward(self, dh, dc, cache, grads):
        x, prev, i, f, g, o, tc = cache
        do = dh * tc
        dc = dc + dh * o * (1 - tc * tc)
        di, df, dg = dc * g, dc * prev.c, dc * i
        da = torch.cat([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], dim=1)
        grads["W_ih"] += da.T @ x
        grads["W_hh"] += da.T @ prev.h
        grads["b"] += da.sum(dim=0)
        return da @ self.W_ih, da @ self.W_hh, dc * f

    def backward(self, dout):
        grads = {"W_ih": torch.zeros_like(self.W_ih), "W_hh": torch.zeros_like(self.W_hh),
                 "b": torch.zeros_like(self.b)}
        T = dout.shape[0]
        dxs = [None] * T
        dh = torch.zeros_like(dout[0])
        dc = torch.zeros_like(dout[0])
        for t in reversed(range(T)):
            dxs[t], dh, dc = self.step_backward(dh + dout[t], dc, self.steps[t], grads)
        return torch.stack(dxs, dim=0), dh, dc, grads


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    return LSTMLayer(W_ih, W_hh, b_ih, b_hh).step_forward(x, LSTMState(h, c))


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    return LSTMLayer(W_ih, W_hh, b_ih, b_hh).forward(x, LSTMState(h0, c0))


def lstm_backward(grad_output, x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    layer = LSTMLayer(W_ih, W_hh, b_ih, b_hh)
    layer.forward(x, LSTMState(h0, c0))
    dx, dh0, dc0, grads = layer.backward(grad_output)
    return {"x": dx, "h0": dh0, "c0": dc0, "W_ih": grads["W_ih"], "W_hh": grads["W_hh"],
            "b_ih": grads["b"], "b_hh": grads["b"].clone()}
