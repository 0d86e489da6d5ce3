"""Student-style RNN/GRU with one deliberate mistake: bptt_no_recurrent_grad.

rnn_backward uses only grad_output[t] as the gradient of h_t (no dh_next).
"""

import torch


def rnn_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    return torch.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)


def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    T = x.shape[0]
    outputs = []
    h = h0
    for t in range(T):
        h = rnn_cell(x[t], h, W_ih, W_hh, b_ih, b_hh)
        outputs.append(h)
    return torch.stack(outputs), h


def rnn_backward(grad_output, x, h0, W_ih, W_hh, b_ih, b_hh):
    T = x.shape[0]
    # forward again, keeping every hidden state
    hs = [h0]
    for t in range(T):
        hs.append(rnn_cell(x[t], hs[-1], W_ih, W_hh, b_ih, b_hh))
    dx = torch.zeros_like(x)
    dW_ih = torch.zeros_like(W_ih)
    dW_hh = torch.zeros_like(W_hh)
    db = torch.zeros_like(b_ih)
    dh_next = torch.zeros_like(h0)
    for t in reversed(range(T)):
        dh = grad_output[t]
        da = dh * (1 - hs[t + 1] ** 2)
        dx[t] = da @ W_ih
        dW_ih += da.T @ x[t]
        dW_hh += da.T @ hs[t]
        db += da.sum(dim=0)
        dh_next = da @ W_hh
    return {"x": dx, "h0": dh_next, "W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db, "b_hh": db.clone()}


def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    gi = x @ W_ih.T + b_ih
    gh = h @ W_hh.T + b_hh
    i_r, i_z, i_n = gi[:, :H], gi[:, H:2 * H], gi[:, 2 * H:]
    h_r, h_z, h_n = gh[:, :H], gh[:, H:2 * H], gh[:, 2 * H:]
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    outputs = []
    h = h0
    for t in range(x.shape[0]):
        h = gru_cell(x[t], h, W_ih, W_hh, b_ih, b_hh)
        outputs.append(h)
    return torch.stack(outputs), h
