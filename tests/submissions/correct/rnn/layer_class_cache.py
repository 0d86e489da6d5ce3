"""Correct RNN/GRU as layer classes with forward/backward and a cache (deep-learning-from-scratch style),
wrapped by the contract functions; vectorised input projections, chunk() for the GRU gates."""
import torch


class TimeRNN:
    def __init__(self, W_ih, W_hh, b_ih, b_hh):
        self.params = [W_ih, W_hh, b_ih, b_hh]
        self.cache = None

    def forward(self, xs, h0):
        W_ih, W_hh, b_ih, b_hh = self.params
        T = xs.shape[0]
        xw = torch.matmul(xs, W_ih.T) + b_ih  # all steps at once
        hs = []
        h = h0
        for t in range(T):
            h = torch.tanh(xw[t] + torch.matmul(h, W_hh.T) + b_hh)
            hs.append(h)
        hs = torch.stack(hs)
        self.cache = (xs, h0, hs)
        return hs

    def backward(self, dhs):
        W_ih, W_hh, _, _ = self.params
        xs, h0, hs = self.cache
        T = xs.shape[0]
        prev = torch.cat([h0.unsqueeze(0), hs[:-1]], dim=0)  # h_{t-1} for every t
        das = []
        dh = torch.zeros_like(h0)
        for t in range(T - 1, -1, -1):
            da = (dhs[t] + dh) * (1.0 - hs[t] * hs[t])
            dh = torch.matmul(da, W_hh)
            das.append(da)
        das = torch.stack(das[::-1])  # (T, N, H)
        grads = {
            "x": torch.matmul(das, W_ih),
            "h0": dh,
            "W_ih": torch.einsum("tnh,tni->hi", das, xs),
            "W_hh": torch.einsum("tnh,tnk->hk", das, prev),
            "b_ih": das.sum(dim=(0, 1)),
            "b_hh": das.sum(dim=(0, 1)),
        }
        return grads

    def forward_backward(self, xs, h0, dhs):
        self.forward(xs, h0)
        return self.backward(dhs)


class GRULayer:
    def __init__(self, W_ih, W_hh, b_ih, b_hh):
        self.W_ih, self.W_hh, self.b_ih, self.b_hh = W_ih, W_hh, b_ih, b_hh

    def step(self, gi, h):
        gh = torch.matmul(h, self.W_hh.T) + self.b_hh
        i_r, i_z, i_n = gi.chunk(3, dim=1)
        h_r, h_z, h_n = gh.chunk(3, dim=1)
        r = torch.sigmoid(i_r + h_r)
        z = torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        return n + z * (h - n)

    def forward(self, xs, h0):
        gis = torch.matmul(xs, self.W_ih.T) + self.b_ih
        h = h0
        out = []
        for gi in gis:
            h = self.step(gi, h)
            out.append(h)
        return torch.stack(out), h


def rnn_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    return TimeRNN(W_ih, W_hh, b_ih, b_hh).forward(x.unsqueeze(0), h)[0]


def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    hs = TimeRNN(W_ih, W_hh, b_ih, b_hh).forward(x, h0)
    return hs, hs[-1]


def rnn_backward(grad_output, x, h0, W_ih, W_hh, b_ih, b_hh):
    return TimeRNN(W_ih, W_hh, b_ih, b_hh).forward_backward(x, h0, grad_output)


def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    layer = GRULayer(W_ih, W_hh, b_ih, b_hh)
    return layer.step(torch.matmul(x, W_ih.T) + b_ih, h)


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    return GRULayer(W_ih, W_hh, b_ih, b_hh).forward(x, h0)
