"""Reference implementation of the ``rnn`` assignment.

A one-layer tanh RNN (forward and backpropagation through time) and a GRU,
with the parameter layout of ``torch.nn.RNN`` / ``torch.nn.GRU``
(time-major, ``batch_first=False``).

Formulas:

* Elman RNN (Elman, 1990; equations as in the ``torch.nn.RNN`` docs):
  ``h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)``.
* BPTT (Werbos, 1990; CS231n assignment 3, ``rnn_backward``): with
  ``a_t`` the pre-activation and ``dh_t = ∂L/∂output[t] + W_hhᵀ-term from t+1``,
  ``da_t = dh_t ⊙ (1 − h_t²)``; ``dx_t = da_t W_ih``;
  ``dh_{t-1} += da_t W_hh``; ``dW_ih = Σ_t da_tᵀ x_t``; ``dW_hh = Σ_t da_tᵀ h_{t-1}``;
  ``db_ih = db_hh = Σ_t Σ_n da_t``.
* GRU (Cho et al., 2014; gate order r, z, n and the placement of r exactly as
  in the ``torch.nn.GRU`` docs):
  ``r = σ(W_ir x + b_ir + W_hr h + b_hr)``, ``z = σ(W_iz x + b_iz + W_hz h + b_hz)``,
  ``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``, ``h' = (1 − z) ⊙ n + z ⊙ h``.

Hand-written: no ``torch.nn`` modules or functional, no ``torch.rnn_tanh`` /
``torch.gru`` / ``torch.lstm`` (or their cells), no autograd.
``torch.sigmoid`` and ``torch.tanh`` are allowed (stable for any magnitude).
Every new tensor takes the dtype and device of the inputs; no input is
modified.
"""

from __future__ import annotations

import torch

__all__ = ["rnn_cell", "rnn_forward", "rnn_backward", "gru_cell", "gru_forward"]


# --------------------------------------------------------------------------- vanilla RNN


def rnn_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    """One step of a tanh RNN: ``tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)``.

    Args:
        x: (N, I) input, float32/float64.
        h: (N, H) previous hidden state.
        W_ih: (H, I); W_hh: (H, H); b_ih, b_hh: (H,).

    Returns:
        h_new: (N, H), dtype and device of ``x``.
    """
    return torch.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)  # (N, H)


def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    """Run a one-layer tanh RNN over a sequence (same as ``torch.nn.RNN(I, H)``).

    Args:
        x: (T, N, I) inputs, time-major.
        h0: (N, H) initial hidden state.
        W_ih, W_hh, b_ih, b_hh: as in :func:`rnn_cell`.

    Returns:
        (output, h_T): output (T, N, H) stacks h_1..h_T; h_T (N, H) is output[-1].
    """
    gx = x @ W_ih.T + b_ih  # (T, N, H): input part of every step at once
    h = h0  # (N, H)
    outs = []
    for t in range(x.shape[0]):
        h = torch.tanh(gx[t] + h @ W_hh.T + b_hh)  # (N, H)
        outs.append(h)
    return torch.stack(outs, dim=0), h  # (T, N, H), (N, H)


def rnn_backward(grad_output, x, h0, W_ih, W_hh, b_ih, b_hh):
    """Backpropagation through time of :func:`rnn_forward`.

    The forward pass is recomputed; then, from t = T-1 down to 0, the upstream
    gradient of step t is ``grad_output[t]`` plus what flows back from step
    t+1 through ``W_hh``.

    Args:
        grad_output: (T, N, H) ∂L/∂output of :func:`rnn_forward`.
        x: (T, N, I); h0: (N, H); W_ih: (H, I); W_hh: (H, H); b_ih, b_hh: (H,).

    Returns:
        dict with keys ``"x"`` (T, N, I), ``"h0"`` (N, H), ``"W_ih"`` (H, I),
        ``"W_hh"`` (H, H), ``"b_ih"`` (H,), ``"b_hh"`` (H,): the gradients of L,
        dtype and device of ``x``.
    """
    T = x.shape[0]
    output, _ = rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh)  # (T, N, H)
    dx = torch.zeros_like(x)  # (T, N, I)
    dW_ih = torch.zeros_like(W_ih)  # (H, I)
    dW_hh = torch.zeros_like(W_hh)  # (H, H)
    db = torch.zeros_like(b_ih)  # (H,)
    dh_next = torch.zeros_like(h0)  # (N, H): gradient arriving from step t+1
    for t in range(T - 1, -1, -1):
        h_prev = output[t - 1] if t > 0 else h0  # (N, H)
        dh = grad_output[t] + dh_next  # (N, H)
        da = dh * (1 - output[t] * output[t])  # (N, H): tanh'(a) = 1 - tanh(a)^2
        dx[t] = da @ W_ih  # (N, I)
        dW_ih = dW_ih + da.T @ x[t]  # (H, I)
        dW_hh = dW_hh + da.T @ h_prev  # (H, H)
        db = db + da.sum(dim=0)  # (H,)
        dh_next = da @ W_hh  # (N, H)
    return {"x": dx, "h0": dh_next, "W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db, "b_hh": db.clone()}


# --------------------------------------------------------------------------- GRU


def _gru_step(gx, h, W_hh, b_hh):
    """One GRU step given the input part ``gx = x W_ihᵀ + b_ih`` (N, 3H) of the gates."""
    H = h.shape[-1]
    gh = h @ W_hh.T + b_hh  # (N, 3H): W_hr h + b_hr | W_hz h + b_hz | W_hn h + b_hn
    r = torch.sigmoid(gx[..., 0:H] + gh[..., 0:H])  # (N, H) reset gate
    z = torch.sigmoid(gx[..., H:2 * H] + gh[..., H:2 * H])  # (N, H) update gate
    n = torch.tanh(gx[..., 2 * H:3 * H] + r * gh[..., 2 * H:3 * H])  # (N, H) candidate
    return (1 - z) * n + z * h  # (N, H)


def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    """One GRU step (same as ``torch.nn.GRUCell``), gate order r, z, n.

    Args:
        x: (N, I); h: (N, H); W_ih: (3H, I); W_hh: (3H, H); b_ih, b_hh: (3H,).

    Returns:
        h_new: (N, H), dtype and device of ``x``.
    """
    return _gru_step(x @ W_ih.T + b_ih, h, W_hh, b_hh)  # (N, H)


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    """Run a one-layer GRU over a sequence (same as ``torch.nn.GRU(I, H)``).

    Args:
        x: (T, N, I); h0: (N, H); weights as in :func:`gru_cell`.

    Returns:
        (output (T, N, H), h_T (N, H)).
    """
    gx = x @ W_ih.T + b_ih  # (T, N, 3H)
    h = h0  # (N, H)
    outs = []
    for t in range(x.shape[0]):
        h = _gru_step(gx[t], h, W_hh, b_hh)  # (N, H)
        outs.append(h)
    return torch.stack(outs, dim=0), h  # (T, N, H), (N, H)
