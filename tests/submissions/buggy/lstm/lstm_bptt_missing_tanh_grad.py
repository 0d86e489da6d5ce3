"""Student-style LSTM with one deliberate mistake: lstm_bptt_missing_tanh_grad.

lstm_cell and lstm_forward are correct; lstm_backward forgets tanh' when passing dh to the cell state.
"""

import torch


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    gates = x @ W_ih.t() + b_ih + h @ W_hh.t() + b_hh
    i, f, g, o = gates.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_new = f * c + i * g
    return o * torch.tanh(c_new), c_new


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    h, c = h0, c0
    outputs = []
    for t in range(x.shape[0]):
        h, c = lstm_cell(x[t], h, c, W_ih, W_hh, b_ih, b_hh)
        outputs.append(h)
    return torch.stack(outputs), (h, c)


def lstm_backward(grad_output, x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    T = x.shape[0]
    H = h0.shape[1]
    # forward pass again, remembering gates and states
    hs, cs, gates = [h0], [c0], []
    for t in range(T):
        z = x[t] @ W_ih.t() + b_ih + hs[-1] @ W_hh.t() + b_hh
        i = torch.sigmoid(z[:, 0:H])
        f = torch.sigmoid(z[:, H:2 * H])
        g = torch.tanh(z[:, 2 * H:3 * H])
        o = torch.sigmoid(z[:, 3 * H:4 * H])
        c = f * cs[-1] + i * g
        cs.append(c)
        hs.append(o * torch.tanh(c))
        gates.append((i, f, g, o))
    dx = torch.zeros_like(x)
    dW_ih = torch.zeros_like(W_ih)
    dW_hh = torch.zeros_like(W_hh)
    db = torch.zeros_like(b_ih)
    dh_next = torch.zeros_like(h0)
    dc_next = torch.zeros_like(c0)
    for t in range(T - 1, -1, -1):
        i, f, g, o = gates[t]
        tanh_c = torch.tanh(cs[t + 1])
        dh = grad_output[t] + dh_next
        dc = dc_next + dh * o
        di = dc * g
        df = dc * cs[t]
        dg = dc * i
        do = dh * tanh_c
        dz = torch.cat([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)], dim=1)
        dx[t] = dz @ W_ih
        dW_ih += dz.t() @ x[t]
        dW_hh += dz.t() @ hs[t]
        db += dz.sum(dim=0)
        dh_next = dz @ W_hh
        dc_next = dc * f
    return {"x": dx, "h0": dh_next, "c0": dc_next, "W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db, "b_hh": db.clone()}
