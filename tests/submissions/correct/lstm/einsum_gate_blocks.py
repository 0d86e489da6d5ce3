"""Correct LSTM: weights viewed as (4, H, in) blocks, einsum, preallocated output; BPTT with gate blocks and one einsum per weight."""
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


def lstm_backward(grad_output, x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    T = x.shape[0]
    H = h0.shape[1]
    Wi = W_ih.reshape(4, H, -1)  # (4, H, I)
    Wh = W_hh.reshape(4, H, H)  # (4, H, H)
    hs, cs, acts = [h0], [c0], []
    for t in range(T):
        zi, zf, zg, zo = _gates(x[t], hs[-1], W_ih, W_hh, b_ih, b_hh)
        a = torch.stack([torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg), torch.sigmoid(zo)])  # (4, N, H)
        c = a[1] * cs[-1] + a[0] * a[2]
        cs.append(c)
        hs.append(a[3] * torch.tanh(c))
        acts.append(a)
    acts = torch.stack(acts)  # (T, 4, N, H)
    H_prev = torch.stack(hs[:-1])  # (T, N, H)
    C_prev = torch.stack(cs[:-1])
    tanh_C = torch.tanh(torch.stack(cs[1:]))
    dz_all = torch.empty_like(acts)  # (T, 4, N, H)
    dh_next = torch.zeros_like(h0)
    dc_next = torch.zeros_like(c0)
    for t in range(T - 1, -1, -1):
        i, f, g, o = acts[t]
        dh = grad_output[t] + dh_next
        dc = dc_next + dh * o * (1 - tanh_C[t] ** 2)
        dz_all[t, 0] = dc * g * i * (1 - i)
        dz_all[t, 1] = dc * C_prev[t] * f * (1 - f)
        dz_all[t, 2] = dc * i * (1 - g * g)
        dz_all[t, 3] = dh * tanh_C[t] * o * (1 - o)
        dh_next = torch.einsum("gnh,ghk->nk", dz_all[t], Wh)
        dc_next = dc * f
    dx = torch.einsum("tgnh,ghi->tni", dz_all, Wi)
    dWi = torch.einsum("tgnh,tni->ghi", dz_all, x).reshape(4 * H, -1)
    dWh = torch.einsum("tgnh,tnk->ghk", dz_all, H_prev).reshape(4 * H, H)
    db = dz_all.sum(dim=(0, 2)).reshape(4 * H)
    return {"x": dx, "h0": dh_next, "c0": dc_next, "W_ih": dWi, "W_hh": dWh, "b_ih": db, "b_hh": db.clone()}
