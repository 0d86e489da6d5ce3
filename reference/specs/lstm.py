"""Grading spec of the ``lstm`` assignment (see ASSIGNMENTS.md, section 5)."""

from __future__ import annotations

import torch

from grader.spec import Assignment, Case, Function, Mistake, Tolerance, call, randn

# --------------------------------------------------------------------------- #
# Inputs
# --------------------------------------------------------------------------- #


def _weights(g, I, H, dt, w_scale):
    W_ih = randn(g, (4 * H, I), dt, scale=w_scale)
    W_hh = randn(g, (4 * H, H), dt, scale=w_scale)
    b_ih = randn(g, (4 * H,), dt, scale=0.5)
    b_hh = randn(g, (4 * H,), dt, scale=0.5)
    return W_ih, W_hh, b_ih, b_hh


def _state(g, N, H, dt, zero_state):
    if zero_state:
        dtype = dt if isinstance(dt, torch.dtype) else getattr(torch, str(dt))
        return torch.zeros(N, H, dtype=dtype), torch.zeros(N, H, dtype=dtype)
    return randn(g, (N, H), dt, scale=0.8), randn(g, (N, H), dt, scale=1.5)


def _cell_case(N, I, H, *, x_scale=1.0, w_scale=0.5, zero_state=False):
    def make(g, dt):
        x = randn(g, (N, I), dt, scale=x_scale)
        h, c = _state(g, N, H, dt, zero_state)
        return call(x, h, c, *_weights(g, I, H, dt, w_scale))

    return make


def _seq_case(T, N, I, H, *, x_scale=1.0, w_scale=0.5, zero_state=False):
    def make(g, dt):
        x = randn(g, (T, N, I), dt, scale=x_scale)
        h0, c0 = _state(g, N, H, dt, zero_state)
        return call(x, h0, c0, *_weights(g, I, H, dt, w_scale))

    return make


# Pre-activations of ~1e4: a float32 rounding of ~1e-3 in a gate whose
# pre-activation happens to land near 0 moves the output by up to ~3e-4.
_LARGE_TOL = {"float32": Tolerance(rtol=1e-3, atol=1e-3)}

# --------------------------------------------------------------------------- #
# Known mistakes (self-contained: the spec must not import reference/)
# --------------------------------------------------------------------------- #


def _cell(x, h, c, W_ih, W_hh, b_ih, b_hh, *, order="ifgo", old_c=False, no_forget=False, no_hh_bias=False):
    gates = x @ W_ih.T + h @ W_hh.T + b_ih + (0 if no_hh_bias else b_hh)
    chunks = dict(zip(order, gates.chunk(4, dim=-1)))
    i, f, g, o = chunks["i"].sigmoid(), chunks["f"].sigmoid(), chunks["g"].tanh(), chunks["o"].sigmoid()
    c_new = i * g if no_forget else f * c + i * g
    h_new = o * torch.tanh(c if old_c else c_new)
    return h_new, c_new


def _forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, *, carry=True, **kw):
    h, c = h0, c0
    outs = []
    for t in range(x.shape[0]):
        if carry:
            h, c = _cell(x[t], h, c, W_ih, W_hh, b_ih, b_hh, **kw)
        else:
            h, c = _cell(x[t], h0, c0, W_ih, W_hh, b_ih, b_hh, **kw)
        outs.append(h)
    return torch.stack(outs), (h, c)


def _cell_ifog(x, h, c, W_ih, W_hh, b_ih, b_hh):
    return _cell(x, h, c, W_ih, W_hh, b_ih, b_hh, order="ifog")


def _cell_old_c(x, h, c, W_ih, W_hh, b_ih, b_hh):
    return _cell(x, h, c, W_ih, W_hh, b_ih, b_hh, old_c=True)


def _cell_no_forget(x, h, c, W_ih, W_hh, b_ih, b_hh):
    return _cell(x, h, c, W_ih, W_hh, b_ih, b_hh, no_forget=True)


def _cell_no_hh_bias(x, h, c, W_ih, W_hh, b_ih, b_hh):
    return _cell(x, h, c, W_ih, W_hh, b_ih, b_hh, no_hh_bias=True)


def _fwd_ifog(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    return _forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, order="ifog")


def _fwd_not_carried(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    return _forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, carry=False)


def _fwd_old_c(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    return _forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, old_c=True)


def _fwd_no_forget(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    return _forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, no_forget=True)


def _fwd_no_hh_bias(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    return _forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, no_hh_bias=True)


_HINT_IFOG = (
    "Your gates are in the order i, f, o, g. PyTorch's layout of W_ih/W_hh/b_ih/b_hh is i, f, g, o: "
    "rows [0:H] input gate, [H:2H] forget gate, [2H:3H] candidate g (tanh), [3H:4H] output gate."
)
_HINT_OLD_C = (
    "Your new hidden state uses the previous cell state: h_new = o * tanh(c). "
    "Update the cell first, c_new = f * c + i * g, then h_new = o * tanh(c_new)."
)
_HINT_NO_FORGET = (
    "Your cell update drops the previous cell state: c_new = i * g. The forget gate decides how much "
    "of the old memory is kept: c_new = f * c + i * g."
)
_HINT_NO_HH_BIAS = (
    "Your gates ignore b_hh. torch.nn.LSTM has two biases and adds both: "
    "gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh."
)
_HINT_NOT_CARRIED = (
    "Every time step of yours starts again from (h0, c0). The state must be carried: step t uses the "
    "(h, c) produced by step t - 1; only step 0 uses (h0, c0)."
)


def _mistakes(forward: bool):
    ms = [
        Mistake("lstm_gate_order_ifog", _HINT_IFOG, _fwd_ifog if forward else _cell_ifog, "gate order i, f, o, g"),
        Mistake(
            "lstm_cell_uses_old_c_for_h",
            _HINT_OLD_C,
            _fwd_old_c if forward else _cell_old_c,
            "h computed from the old cell state",
        ),
        Mistake(
            "lstm_forget_gate_missing",
            _HINT_NO_FORGET,
            _fwd_no_forget if forward else _cell_no_forget,
            "forget gate missing",
        ),
        Mistake("lstm_hh_bias_missing", _HINT_NO_HH_BIAS, _fwd_no_hh_bias if forward else _cell_no_hh_bias,
                "b_hh ignored"),
    ]
    if forward:
        ms.insert(1, Mistake("lstm_state_not_carried", _HINT_NOT_CARRIED, _fwd_not_carried, "state not carried"))
    return tuple(ms)


# --------------------------------------------------------------------------- #
# The assignment
# --------------------------------------------------------------------------- #

ASSIGNMENT = Assignment(
    id="lstm",
    position=5,
    title="LSTM forward pass",
    banned=(
        "torch.nn",  # torch.nn modules (nn.LSTM, nn.LSTMCell, ...) and torch.nn.functional.*
        "torch.lstm",
        "torch.lstm_cell",
        "torch.quantized_lstm",
        "torch.quantized_lstm_cell",
        "torch.mkldnn_rnn_layer",
        "torch._VF.lstm",
        "torch._VF.lstm_cell",
        "torch.ao",  # quantizable LSTM and LSTMCell
        "torch._C._nn",
        "jax.nn",
        "flax",
        "tensorflow.keras",
        "keras.layers",
        "torch.autograd",
        "torch.func",
        "torch.Tensor.backward",
        "jax.grad",
        "jax.vjp",
        "jax.jvp",
        "jax.jacrev",
        "jax.jacfwd",
        "jax.value_and_grad",
        "autograd.grad",
        "tensorflow.GradientTape",
    ),
    banned_ops=(
        "aten::lstm",
        "aten::lstm_cell",
        "aten::_thnn_fused_lstm_cell",
        "aten::mkldnn_rnn_layer",
        "aten::_cudnn_rnn",
        "aten::miopen_rnn",
        "aten::_lstm_mps",
        "aten::quantized_lstm_cell",
    ),
    functions=(
        Function(
            name="lstm_cell",
            cases=(
                Case("basic", _cell_case(3, 4, 5), description="N=3, I=4, H=5, non-zero state"),
                Case("zero_state", _cell_case(2, 3, 4, zero_state=True), description="h = c = 0"),
                Case("batch_1", _cell_case(1, 6, 2), description="N=1, I=6, H=2"),
                Case(
                    "large_weights",
                    _cell_case(4, 3, 3, x_scale=2.0, w_scale=2.0),
                    description="weights ~ N(0, 4): saturated gates",
                ),
                Case("wide_hidden", _cell_case(5, 2, 8), hidden=True, description="N=5, I=2, H=8"),
                Case(
                    "large_1e4",
                    _cell_case(2, 3, 3, x_scale=1e4),
                    hidden=True,
                    tolerance=_LARGE_TOL,
                    description="inputs ~ 1e4",
                ),
            ),
            mistakes=_mistakes(forward=False),
        ),
        Function(
            name="lstm_forward",
            cases=(
                Case("seq_T5", _seq_case(5, 3, 4, 5), points=2.0, description="T=5, N=3, I=4, H=5, non-zero state"),
                Case("single_step_T1", _seq_case(1, 2, 3, 4), description="T=1"),
                Case("zero_init", _seq_case(4, 2, 3, 3, zero_state=True), description="T=4, h0 = c0 = 0"),
                Case("batch_1", _seq_case(6, 1, 2, 3), description="T=6, N=1"),
                Case("input_smaller_than_hidden", _seq_case(4, 2, 2, 6), description="T=4, I=2, H=6"),
                Case(
                    "long_T12_large_weights",
                    _seq_case(12, 2, 5, 4, x_scale=1.5, w_scale=1.5),
                    points=2.0,
                    hidden=True,
                    description="T=12, weights ~ N(0, 2.25)",
                ),
                Case(
                    "large_1e4",
                    _seq_case(3, 2, 3, 2, x_scale=1e4),
                    hidden=True,
                    tolerance=_LARGE_TOL,
                    description="inputs ~ 1e4",
                ),
            ),
            mistakes=_mistakes(forward=True),
        ),
    ),
)
