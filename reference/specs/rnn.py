"""Grading spec of the ``rnn`` assignment (see ASSIGNMENTS.md, section 11).

Cases: T = 1 and T > 1, non-zero and zero initial states, a batch of one,
hidden size different from the input size (both ways), saturating
pre-activations (~1e4 and moderately large weights).  Mistake variants are
written out here (the spec never imports the reference).
"""

from __future__ import annotations

import torch

from grader.spec import (
    Assignment,
    Case,
    Function,
    GradCheck,
    Mistake,
    Tolerance,
    as_dtype,
    call,
    randn,
    Axis,
    AUTODIFF,
)

# --------------------------------------------------------------------------- #
# Inputs
# --------------------------------------------------------------------------- #


def _weights(g, I, H, dt, w_scale, gates, hh_scale=None):
    W_ih = randn(g, (gates * H, I), dt, scale=w_scale)
    W_hh = randn(g, (gates * H, H), dt, scale=w_scale if hh_scale is None else hh_scale)
    b_ih = randn(g, (gates * H,), dt, scale=0.5)
    b_hh = randn(g, (gates * H,), dt, scale=0.5)
    return W_ih, W_hh, b_ih, b_hh


def _h0(g, N, H, dt, zero_state):
    if zero_state:
        return torch.zeros(N, H, dtype=as_dtype(dt))
    return randn(g, (N, H), dt, scale=0.8)


def _cell_case(N, I, H, *, gates=1, x_scale=1.0, w_scale=0.5, zero_state=False):
    def make(g, dt):
        x = randn(g, (N, I), dt, scale=x_scale)
        h = _h0(g, N, H, dt, zero_state)
        return call(x, h, *_weights(g, I, H, dt, w_scale, gates))

    return make


def _seq_case(T, N, I, H, *, gates=1, x_scale=1.0, w_scale=0.5, hh_scale=None, zero_state=False):
    def make(g, dt):
        x = randn(g, (T, N, I), dt, scale=x_scale)
        h0 = _h0(g, N, H, dt, zero_state)
        return call(x, h0, *_weights(g, I, H, dt, w_scale, gates, hh_scale))

    return make


def _bwd_case(T, N, I, H, *, x_scale=1.0, w_scale=0.5, hh_scale=None, zero_state=False, g_scale=1.0):
    seq = _seq_case(T, N, I, H, x_scale=x_scale, w_scale=w_scale, hh_scale=hh_scale, zero_state=zero_state)

    def make(g, dt):
        c = seq(g, dt)
        grad_output = randn(g, (T, N, H), dt, scale=g_scale)
        return call(grad_output, *c.args)

    return make


# Inputs ~1e4: float32 rounds a pre-activation of ~1e4 to ~1e-3; where one
# happens to land near 0 (not saturated) the output moves by up to ~1e-3.
_LARGE_TOL = {"float32": Tolerance(rtol=1e-3, atol=1e-3)}
# BPTT accumulates T products of float32 roundings through W_hh.
_BWD_TOL = {"float32": Tolerance(rtol=1e-4, atol=3e-5)}

# --------------------------------------------------------------------------- #
# Known mistakes (self-contained: the spec must not import reference/)
# --------------------------------------------------------------------------- #


def _rnn_step(x, h, W_ih, W_hh, b_ih, b_hh, *, hh_bias=True):
    return torch.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + (b_hh if hh_bias else 0))


def _rnn_cell_no_hh_bias(x, h, W_ih, W_hh, b_ih, b_hh):
    return _rnn_step(x, h, W_ih, W_hh, b_ih, b_hh, hh_bias=False)


def _rnn_fwd(x, h0, W_ih, W_hh, b_ih, b_hh, *, carry=True, include_h0=False, hh_bias=True):
    h = h0
    hs = [h0] if include_h0 else []
    for t in range(x.shape[0]):
        h = _rnn_step(x[t], h if carry else h0, W_ih, W_hh, b_ih, b_hh, hh_bias=hh_bias)
        hs.append(h)
    out = torch.stack(hs[: x.shape[0]])
    return out, h


def _rnn_fwd_not_carried(x, h0, W_ih, W_hh, b_ih, b_hh):
    return _rnn_fwd(x, h0, W_ih, W_hh, b_ih, b_hh, carry=False)


def _rnn_fwd_output_from_h0(x, h0, W_ih, W_hh, b_ih, b_hh):
    return _rnn_fwd(x, h0, W_ih, W_hh, b_ih, b_hh, include_h0=True)


def _rnn_fwd_no_hh_bias(x, h0, W_ih, W_hh, b_ih, b_hh):
    return _rnn_fwd(x, h0, W_ih, W_hh, b_ih, b_hh, hh_bias=False)


def _bptt(grad_output, x, h0, W_ih, W_hh, b_ih, b_hh, *, recurrent=True, accumulate=True, dh0=True,
          dtanh="h", hh_bias=True):
    T = x.shape[0]
    out, _ = _rnn_fwd(x, h0, W_ih, W_hh, b_ih, b_hh, hh_bias=hh_bias)
    dx = torch.zeros_like(x)
    dW_ih, dW_hh, db = torch.zeros_like(W_ih), torch.zeros_like(W_hh), torch.zeros_like(b_ih)
    dh_next = torch.zeros_like(h0)
    for t in reversed(range(T)):
        h_prev = out[t - 1] if t > 0 else h0
        dh = grad_output[t] + (dh_next if recurrent else 0)
        if dtanh == "h":
            da = dh * (1 - out[t] ** 2)
        else:  # 1 - a^2 on the pre-activation a instead of on h = tanh(a)
            a = x[t] @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
            da = dh * (1 - a ** 2)
        dx[t] = da @ W_ih
        if accumulate:
            dW_ih, dW_hh, db = dW_ih + da.T @ x[t], dW_hh + da.T @ h_prev, db + da.sum(0)
        else:
            dW_ih, dW_hh, db = da.T @ x[t], da.T @ h_prev, da.sum(0)
        dh_next = da @ W_hh
    return {"x": dx, "h0": dh_next if dh0 else torch.zeros_like(h0), "W_ih": dW_ih, "W_hh": dW_hh,
            "b_ih": db, "b_hh": db}


def _bptt_no_recurrent(*a):
    return _bptt(*a, recurrent=False)


def _bptt_not_summed(*a):
    return _bptt(*a, accumulate=False)


def _bptt_dh0_zeros(*a):
    return _bptt(*a, dh0=False)


def _bptt_dtanh_pre(*a):
    return _bptt(*a, dtanh="pre")


def _bptt_no_hh_bias(*a):
    return _bptt(*a, hh_bias=False)


def _gru_step(x, h, W_ih, W_hh, b_ih, b_hh, *, order="rzn", swap_z=False, reset="ok"):
    gi = x @ W_ih.T + b_ih
    gh = h @ W_hh.T + b_hh
    H = h.shape[-1]
    blocks_i = dict(zip(order, gi.split(H, dim=-1)))
    blocks_h = dict(zip(order, gh.split(H, dim=-1)))
    r = torch.sigmoid(blocks_i["r"] + blocks_h["r"])
    z = torch.sigmoid(blocks_i["z"] + blocks_h["z"])
    W_hn = dict(zip(order, W_hh.split(H, dim=0)))["n"]
    b_hn = dict(zip(order, b_hh.split(H, dim=0)))["n"]
    if reset == "ok":
        n = torch.tanh(blocks_i["n"] + r * blocks_h["n"])
    elif reset == "before_matmul":  # W_hn (r * h) + b_hn
        n = torch.tanh(blocks_i["n"] + (r * h) @ W_hn.T + b_hn)
    else:  # "bias_outside": r * (W_hn h) + b_hn
        n = torch.tanh(blocks_i["n"] + r * (h @ W_hn.T) + b_hn)
    if swap_z:
        return z * n + (1 - z) * h
    return (1 - z) * n + z * h


def _gru_fwd(x, h0, W_ih, W_hh, b_ih, b_hh, *, carry=True, **kw):
    h = h0
    hs = []
    for t in range(x.shape[0]):
        h = _gru_step(x[t], h if carry else h0, W_ih, W_hh, b_ih, b_hh, **kw)
        hs.append(h)
    return torch.stack(hs), h


def _gru_variants(**kw):
    def cell(x, h, W_ih, W_hh, b_ih, b_hh):
        return _gru_step(x, h, W_ih, W_hh, b_ih, b_hh, **kw)

    def forward(x, h0, W_ih, W_hh, b_ih, b_hh):
        return _gru_fwd(x, h0, W_ih, W_hh, b_ih, b_hh, **kw)

    return cell, forward


_GRU_Z_SWAPPED = _gru_variants(swap_z=True)
_GRU_RESET_BEFORE = _gru_variants(reset="before_matmul")
_GRU_RESET_BIAS_OUTSIDE = _gru_variants(reset="bias_outside")
_GRU_ORDER_ZRN = _gru_variants(order="zrn")


def _gru_fwd_not_carried(x, h0, W_ih, W_hh, b_ih, b_hh):
    return _gru_fwd(x, h0, W_ih, W_hh, b_ih, b_hh, carry=False)


_HINT_RNN_NO_HH_BIAS = (
    "Your pre-activation ignores b_hh. torch.nn.RNN has two biases and adds both: "
    "tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)."
)
_HINT_GRU_Z = (
    "Your update gate is used the wrong way round: you return z * n + (1 - z) * h. In PyTorch's GRU, "
    "z is the share of the OLD state that is kept: h' = (1 - z) * n + z * h."
)
_HINT_GRU_RESET_BEFORE = (
    "You apply the reset gate before the matrix product, W_hn (r * h) + b_hn (the formula of the "
    "original paper). PyTorch (and this assignment) applies it after: n = tanh(W_in x + b_in + "
    "r * (W_hn h + b_hn)), i.e. r multiplies the whole hidden part of the candidate, bias included."
)
_HINT_GRU_RESET_BIAS = (
    "Your reset gate multiplies W_hn h but not its bias: r * (W_hn h) + b_hn. In PyTorch's GRU the "
    "bias is inside: n = tanh(W_in x + b_in + r * (W_hn h + b_hn))."
)
_HINT_GRU_ORDER = (
    "Your gate blocks are in the order z, r, n (as in Keras). PyTorch's layout of W_ih/W_hh/b_ih/b_hh "
    "is r, z, n: rows [0:H] reset gate, [H:2H] update gate, [2H:3H] candidate n."
)
_HINT_NOT_CARRIED = (
    "Every time step of yours starts again from h0. The state must be carried: step t uses the h "
    "produced by step t - 1; only step 0 uses h0."
)


def _gru_mistakes(forward: bool):
    i = 1 if forward else 0
    ms = [
        Mistake("gru_z_swapped", _HINT_GRU_Z, _GRU_Z_SWAPPED[i], "z and 1 - z swapped"),
        Mistake("gru_reset_before_matmul", _HINT_GRU_RESET_BEFORE, _GRU_RESET_BEFORE[i],
                "reset gate applied to h before W_hn"),
        Mistake("gru_reset_bias_outside", _HINT_GRU_RESET_BIAS, _GRU_RESET_BIAS_OUTSIDE[i],
                "reset gate does not multiply b_hn"),
        Mistake("gru_gate_order_zrn", _HINT_GRU_ORDER, _GRU_ORDER_ZRN[i], "gate order z, r, n"),
    ]
    if forward:
        ms.append(Mistake("gru_state_not_carried", _HINT_NOT_CARRIED, _gru_fwd_not_carried, "state not carried"))
    return tuple(ms)


# --------------------------------------------------------------------------- #
# Oracles (torch.nn modules with copied weights; autograd for BPTT)
# --------------------------------------------------------------------------- #


def _copy_weights(module, suffix, W_ih, W_hh, b_ih, b_hh):
    with torch.no_grad():
        for name, w in (("weight_ih", W_ih), ("weight_hh", W_hh), ("bias_ih", b_ih), ("bias_hh", b_hh)):
            getattr(module, name + suffix).copy_(w)
    return module


def _oracle_rnn_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    cell = torch.nn.RNNCell(W_ih.shape[1], W_ih.shape[0]).to(x.dtype)
    with torch.no_grad():
        return _copy_weights(cell, "", W_ih, W_hh, b_ih, b_hh)(x, h)


def _oracle_rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    rnn = torch.nn.RNN(W_ih.shape[1], W_ih.shape[0]).to(x.dtype)
    with torch.no_grad():
        out, hn = _copy_weights(rnn, "_l0", W_ih, W_hh, b_ih, b_hh)(x, h0.unsqueeze(0))
    return out, hn[0]


def _oracle_rnn_backward(grad_output, x, h0, W_ih, W_hh, b_ih, b_hh):
    rnn = _copy_weights(torch.nn.RNN(W_ih.shape[1], W_ih.shape[0]).to(x.dtype), "_l0", W_ih, W_hh, b_ih, b_hh)
    x_, h0_ = x.detach().clone().requires_grad_(True), h0.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out, _ = rnn(x_, h0_.unsqueeze(0))
        wrt = (x_, h0_, rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)
        grads = torch.autograd.grad(out, wrt, grad_outputs=grad_output)
    return dict(zip(("x", "h0", "W_ih", "W_hh", "b_ih", "b_hh"), grads))


def _oracle_gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    cell = torch.nn.GRUCell(W_ih.shape[1], W_hh.shape[1]).to(x.dtype)
    with torch.no_grad():
        return _copy_weights(cell, "", W_ih, W_hh, b_ih, b_hh)(x, h)


def _oracle_gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    gru = torch.nn.GRU(W_ih.shape[1], W_hh.shape[1]).to(x.dtype)
    with torch.no_grad():
        out, hn = _copy_weights(gru, "_l0", W_ih, W_hh, b_ih, b_hh)(x, h0.unsqueeze(0))
    return out, hn[0]


# --------------------------------------------------------------------------- #
# Cases
# --------------------------------------------------------------------------- #


def _cell_cases(gates):
    return (
        Case("basic", _cell_case(3, 4, 5, gates=gates), points=2.0, description="N=3, I=4, H=5, non-zero h"),
        # (a GRU step from h = 0 cannot tell W_hn (r * h) + b_hn from r * (W_hn h) + b_hn: gru_forward's zero_h0
        # case covers the zero state there)
        *((Case("zero_state", _cell_case(2, 3, 4, gates=gates, zero_state=True), description="h = 0"),)
          if gates == 1 else ()),
        Case("batch_1", _cell_case(1, 6, 2, gates=gates), description="N=1, I=6, H=2 (I > H)"),
        Case("hidden_gt_input", _cell_case(4, 2, 7, gates=gates), description="N=4, I=2, H=7 (I < H)"),
        Case("saturating", _cell_case(4, 3, 3, gates=gates, x_scale=2.0, w_scale=2.5),
             description="weights ~ N(0, 2.5^2): pre-activations of several units, tanh/sigmoid saturate"),
        Case("large_1e4", _cell_case(3, 3, 4, gates=gates, x_scale=1e4), hidden=True, tolerance=_LARGE_TOL,
             description="inputs ~ 1e4: fully saturated"),
        Case("wide_hidden", _cell_case(5, 3, 9, gates=gates), hidden=True, description="N=5, I=3, H=9"),
    )


def _forward_cases(gates):
    return (
        Case("seq_T5", _seq_case(5, 3, 4, 5, gates=gates), points=2.0,
             description="T=5, N=3, I=4, H=5, non-zero h0"),
        Case("single_step_T1", _seq_case(1, 2, 3, 4, gates=gates), description="T=1"),
        Case("zero_h0", _seq_case(4, 2, 3, 3, gates=gates, zero_state=True), description="T=4, h0 = 0"),
        Case("batch_1", _seq_case(6, 1, 2, 3, gates=gates), description="T=6, N=1"),
        Case("hidden_ne_input", _seq_case(4, 2, 5, 2, gates=gates), description="T=4, I=5, H=2"),
        Case("saturating", _seq_case(5, 2, 3, 4, gates=gates, x_scale=2.0, w_scale=2.0, hh_scale=0.4),
             description="T=5, W_ih ~ N(0, 4), inputs ~ N(0, 4): saturated units"),
        Case("long_T12", _seq_case(12, 2, 3, 6, gates=gates, w_scale=0.5), points=2.0, hidden=True,
             description="T=12, N=2, I=3, H=6"),
        Case("large_1e4", _seq_case(3, 2, 3, 2, gates=gates, x_scale=1e4), hidden=True, tolerance=_LARGE_TOL,
             description="inputs ~ 1e4: fully saturated"),
    )


_BACKWARD_CASES = (
    Case("seq_T5", _bwd_case(5, 3, 4, 5), points=2.0, description="T=5, N=3, I=4, H=5, non-zero h0"),
    Case("single_step_T1", _bwd_case(1, 2, 3, 4), description="T=1: no recurrent term"),
    Case("zero_h0", _bwd_case(4, 2, 3, 3, zero_state=True), description="T=4, h0 = 0"),
    Case("batch_1", _bwd_case(6, 1, 2, 3), description="T=6, N=1"),
    Case("hidden_ne_input", _bwd_case(4, 2, 5, 2), description="T=4, I=5, H=2"),
    # (W_hh stays small: with W_hh ~ N(0, 4) the gradients explode through time and float32
    # cancellation alone would exceed any sensible tolerance)
    Case("saturating", _bwd_case(5, 2, 3, 4, x_scale=2.0, w_scale=2.0, hh_scale=0.4),
         description="T=5, W_ih ~ N(0, 4), inputs ~ N(0, 4): tanh' near 0 for many units"),
    Case("long_T10", _bwd_case(10, 2, 3, 6, w_scale=0.5), points=2.0, hidden=True,
         description="T=10, N=2, I=3, H=6"),
    Case("large_1e4", _bwd_case(3, 2, 3, 2, x_scale=1e4), hidden=True, tolerance=_LARGE_TOL, gradcheck=False,
         description="inputs ~ 1e4: fully saturated, gradients ~0 (no finite-difference check at this scale)"),
)

_RNN_BACKWARD_GRADCHECK = GradCheck(
    forward="rnn_forward",
    inputs=lambda c: call(*c.args[1:]),
    wrt={0: ("x",), 1: ("h0",), 2: ("W_ih",), 3: ("W_hh",), 4: ("b_ih",), 5: ("b_hh",)},
    upstream=lambda c: c.args[0],
    output=(0,),
)

# --------------------------------------------------------------------------- #
# The assignment
# --------------------------------------------------------------------------- #

ASSIGNMENT = Assignment(
    id="rnn",
    position=11,
    title="Vanilla RNN with backpropagation through time, GRU",
    banned=(
        "torch.nn",  # torch.nn modules (nn.RNN, nn.GRU, ...) and torch.nn.functional.*
        "torch.rnn_tanh",
        "torch.rnn_tanh_cell",
        "torch.rnn_relu",
        "torch.rnn_relu_cell",
        "torch.gru",
        "torch.gru_cell",
        "torch.lstm",
        "torch.lstm_cell",
        "torch.quantized_rnn_tanh_cell",
        "torch.quantized_rnn_relu_cell",
        "torch.quantized_gru",
        "torch.quantized_gru_cell",
        "torch.quantized_lstm",
        "torch.quantized_lstm_cell",
        "torch.mkldnn_rnn_layer",
        "torch._VF",
        "torch.ao",  # quantizable RNN and GRU modules
        "torch._C._nn",
        "jax.nn",
        "flax",
        "tensorflow.keras",
        "keras.layers",
        *AUTODIFF,
    ),
    banned_ops=(
        "aten::rnn_tanh",
        "aten::rnn_tanh_cell",
        "aten::rnn_relu",
        "aten::rnn_relu_cell",
        "aten::gru",
        "aten::gru_cell",
        "aten::_thnn_fused_gru_cell",
        "aten::lstm",
        "aten::lstm_cell",
        "aten::_thnn_fused_lstm_cell",
        "aten::quantized_rnn_tanh_cell",
        "aten::quantized_rnn_relu_cell",
        "aten::quantized_gru_cell",
        "aten::quantized_lstm_cell",
        "aten::mkldnn_rnn_layer",
        "aten::_cudnn_rnn",
        "aten::miopen_rnn",
        "aten::_lstm_mps",
    ),
    functions=(
        Function(
            name="rnn_cell",
            cases=_cell_cases(1),
            mistakes=(Mistake("rnn_hh_bias_missing", _HINT_RNN_NO_HH_BIAS, _rnn_cell_no_hh_bias, "b_hh ignored"),),
            oracle=_oracle_rnn_cell,
        ),
        Function(
            name="rnn_forward",
            axes=(Axis("step", path=(0,)),),
            cases=_forward_cases(1),
            mistakes=(
                Mistake("rnn_state_not_carried", _HINT_NOT_CARRIED, _rnn_fwd_not_carried, "state not carried"),
                Mistake(
                    "rnn_output_starts_at_h0",
                    "Your output is shifted by one step: output[0] is h0 and the last state is missing. "
                    "output[t] is the state AFTER step t, so output = stack([h_1, ..., h_T]) and h_T = output[-1].",
                    _rnn_fwd_output_from_h0,
                    "output holds h_0..h_{T-1}",
                ),
                Mistake("rnn_hh_bias_missing", _HINT_RNN_NO_HH_BIAS, _rnn_fwd_no_hh_bias, "b_hh ignored"),
            ),
            oracle=_oracle_rnn_forward,
        ),
        Function(
            name="rnn_backward",
            axes=(Axis("step", path=("x",), backward=True),),
            cases=_BACKWARD_CASES,
            tolerance=_BWD_TOL,
            gradcheck=_RNN_BACKWARD_GRADCHECK,
            mistakes=(
                Mistake(
                    "bptt_no_recurrent_grad",
                    "Your BPTT drops the recurrent term: the gradient of h_t comes only from output[t]. h_t also "
                    "feeds step t+1, so walking backwards carry dh_next = da_{t+1} @ W_hh and use "
                    "dh = grad_output[t] + dh_next.",
                    _bptt_no_recurrent,
                    "dh not carried to the previous step",
                ),
                Mistake(
                    "bptt_weights_not_summed",
                    "Your weight and bias gradients keep only one time step (they are overwritten inside the "
                    "loop). The weights are shared by every step, so their gradients are sums over t: "
                    "dW_ih += da.T @ x[t], dW_hh += da.T @ h_prev, db += da.sum(0).",
                    _bptt_not_summed,
                    "weight gradients not summed over time",
                ),
                Mistake(
                    "bptt_dh0_zeros",
                    "Your gradient for h0 is all zeros. h0 feeds the first step, so its gradient is what flows "
                    "back out of step 0: dh0 = da_0 @ W_hh (the dh_next left after the loop).",
                    _bptt_dh0_zeros,
                    "dh0 missing (zeros)",
                ),
                Mistake(
                    "bptt_dtanh_of_preactivation",
                    "Your tanh derivative uses the pre-activation a: 1 - a**2. The derivative is "
                    "1 - tanh(a)**2 = 1 - h**2 with h = tanh(a) the new hidden state (output[t]).",
                    _bptt_dtanh_pre,
                    "tanh' computed as 1 - a^2",
                ),
                Mistake("rnn_hh_bias_missing", _HINT_RNN_NO_HH_BIAS + " Your backward recomputes the forward "
                        "without it, so every gradient is off.", _bptt_no_hh_bias, "b_hh ignored"),
            ),
            oracle=_oracle_rnn_backward,
        ),
        Function(
            name="gru_cell",
            cases=_cell_cases(3),
            mistakes=_gru_mistakes(forward=False),
            oracle=_oracle_gru_cell,
        ),
        Function(
            name="gru_forward",
            axes=(Axis("step", path=(0,)),),
            cases=_forward_cases(3),
            mistakes=_gru_mistakes(forward=True),
            oracle=_oracle_gru_forward,
        ),
    ),
)
