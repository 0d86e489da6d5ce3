"""Grading spec of the ``lstm`` assignment (see ASSIGNMENTS.md, section 5; ``lstm_backward`` added in the catalogue)."""

from __future__ import annotations

import torch

from grader.spec import Assignment, Case, Function, GradCheck, Mistake, Tolerance, call, randn, Axis, AUTODIFF

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


def _bwd_case(T, N, I, H, *, x_scale=1.0, w_scale=0.5, zero_state=False):
    seq = _seq_case(T, N, I, H, x_scale=x_scale, w_scale=w_scale, zero_state=zero_state)

    def make(g, dt):
        c = seq(g, dt)
        grad_output = randn(g, (T, N, H), dt)
        return call(grad_output, *c.args)

    return make


# Pre-activations of ~1e4: a float32 rounding of ~1e-3 in a gate whose
# pre-activation happens to land near 0 moves the output by up to ~3e-4.
_LARGE_TOL = {"float32": Tolerance(rtol=1e-3, atol=1e-3)}
# BPTT accumulates T products of float32 roundings through W_hh and the gates.
_BWD_TOL = {"float32": Tolerance(rtol=1e-4, atol=3e-5)}

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


def _bptt(grad_output, x, h0, c0, W_ih, W_hh, b_ih, b_hh, *, cell_path=True, recurrent=True, accumulate=True,
          zero_init_grads=False, tanh_c_grad=True):
    T, H = x.shape[0], h0.shape[-1]
    hs, cs, acts = [h0], [c0], []
    for t in range(T):
        z = x[t] @ W_ih.T + b_ih + hs[-1] @ W_hh.T + b_hh
        i, f, g, o = z[:, :H].sigmoid(), z[:, H:2 * H].sigmoid(), z[:, 2 * H:3 * H].tanh(), z[:, 3 * H:].sigmoid()
        c = f * cs[-1] + i * g
        hs.append(o * c.tanh())
        cs.append(c)
        acts.append((i, f, g, o))
    dx = torch.zeros_like(x)
    dW_ih, dW_hh, db = torch.zeros_like(W_ih), torch.zeros_like(W_hh), torch.zeros_like(b_ih)
    dh_next, dc_next = torch.zeros_like(h0), torch.zeros_like(c0)
    for t in reversed(range(T)):
        i, f, g, o = acts[t]
        tc = cs[t + 1].tanh()
        dh = grad_output[t] + (dh_next if recurrent else 0)
        dc_h = dh * o * (1 - tc ** 2) if tanh_c_grad else dh * o
        dc = dc_h + (dc_next if cell_path else 0)
        da = torch.cat([dc * g * i * (1 - i), dc * cs[t] * f * (1 - f), dc * i * (1 - g ** 2),
                        dh * tc * o * (1 - o)], dim=1)
        dx[t] = da @ W_ih
        if accumulate:
            dW_ih, dW_hh, db = dW_ih + da.T @ x[t], dW_hh + da.T @ hs[t], db + da.sum(0)
        else:
            dW_ih, dW_hh, db = da.T @ x[t], da.T @ hs[t], da.sum(0)
        dh_next, dc_next = da @ W_hh, dc * f
    if zero_init_grads:
        dh_next, dc_next = torch.zeros_like(h0), torch.zeros_like(c0)
    return {"x": dx, "h0": dh_next, "c0": dc_next, "W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db, "b_hh": db}


def _bptt_no_cell_path(*a):
    return _bptt(*a, cell_path=False)


def _bptt_no_recurrent(*a):
    return _bptt(*a, recurrent=False)


def _bptt_not_summed(*a):
    return _bptt(*a, accumulate=False)


def _bptt_zero_init_grads(*a):
    return _bptt(*a, zero_init_grads=True)


def _bptt_no_tanh_c_grad(*a):
    return _bptt(*a, tanh_c_grad=False)


_BACKWARD_MISTAKES = (
    Mistake(
        "lstm_bptt_no_cell_path",
        "Your BPTT drops the cell path: the gradient of c_t comes only through h_t = o * tanh(c_t). c_t also "
        "feeds c_{t+1} = f * c_t + i * g, so carry dc_next = dc * f from step t+1 and add it: "
        "dc = dc_next + dh * o * (1 - tanh(c_t)**2).",
        _bptt_no_cell_path,
        "cell gradient not carried through f",
    ),
    Mistake(
        "lstm_bptt_no_recurrent_grad",
        "Your BPTT drops the recurrent term of the hidden state: the gradient of h_t comes only from "
        "output[t]. h_t also feeds the gates of step t+1, so carry dh_next = da @ W_hh and use "
        "dh = grad_output[t] + dh_next.",
        _bptt_no_recurrent,
        "dh not carried to the previous step",
    ),
    Mistake(
        "lstm_bptt_weights_not_summed",
        "Your weight and bias gradients keep only one time step (they are overwritten inside the loop). "
        "The weights are shared by every step: accumulate dW_ih += da.T @ x[t], dW_hh += da.T @ h_prev, "
        "db += da.sum(0).",
        _bptt_not_summed,
        "weight gradients not summed over time",
    ),
    Mistake(
        "lstm_bptt_h0_c0_zeros",
        "Your gradients for h0 and c0 are zeros. They feed the first step: after the loop, dh0 = da_0 @ W_hh "
        "and dc0 = dc_0 * f_0 (the dh_next and dc_next left over).",
        _bptt_zero_init_grads,
        "dh0/dc0 missing (zeros)",
    ),
    Mistake(
        "lstm_bptt_missing_tanh_grad",
        "Your cell gradient skips the derivative of tanh: h = o * tanh(c), so dc gets dh * o * (1 - tanh(c)**2), "
        "not dh * o.",
        _bptt_no_tanh_c_grad,
        "tanh'(c) missing in dc",
    ),
)

# --------------------------------------------------------------------------- #
# Oracles (torch.nn modules with copied weights; autograd for BPTT)
# --------------------------------------------------------------------------- #


def _copy(module, suffix, W_ih, W_hh, b_ih, b_hh):
    with torch.no_grad():
        for name, w in (("weight_ih", W_ih), ("weight_hh", W_hh), ("bias_ih", b_ih), ("bias_hh", b_hh)):
            getattr(module, name + suffix).copy_(w)
    return module


def _oracle_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    cell = _copy(torch.nn.LSTMCell(W_ih.shape[1], W_hh.shape[1]).to(x.dtype), "", W_ih, W_hh, b_ih, b_hh)
    with torch.no_grad():
        return cell(x, (h, c))


def _oracle_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    lstm = _copy(torch.nn.LSTM(W_ih.shape[1], W_hh.shape[1]).to(x.dtype), "_l0", W_ih, W_hh, b_ih, b_hh)
    with torch.no_grad():
        out, (hn, cn) = lstm(x, (h0.unsqueeze(0), c0.unsqueeze(0)))
    return out, (hn[0], cn[0])


def _oracle_backward(grad_output, x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    lstm = _copy(torch.nn.LSTM(W_ih.shape[1], W_hh.shape[1]).to(x.dtype), "_l0", W_ih, W_hh, b_ih, b_hh)
    x_, h0_, c0_ = (t.detach().clone().requires_grad_(True) for t in (x, h0, c0))
    with torch.enable_grad():
        out, _ = lstm(x_, (h0_.unsqueeze(0), c0_.unsqueeze(0)))
        wrt = (x_, h0_, c0_, lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
        grads = torch.autograd.grad(out, wrt, grad_outputs=grad_output)
    return dict(zip(("x", "h0", "c0", "W_ih", "W_hh", "b_ih", "b_hh"), grads))


_BACKWARD_GRADCHECK = GradCheck(
    forward="lstm_forward",
    inputs=lambda c: call(*c.args[1:]),
    wrt={0: ("x",), 1: ("h0",), 2: ("c0",), 3: ("W_ih",), 4: ("W_hh",), 5: ("b_ih",), 6: ("b_hh",)},
    upstream=lambda c: c.args[0],
    output=(0,),
)

# --------------------------------------------------------------------------- #
# The assignment
# --------------------------------------------------------------------------- #

ASSIGNMENT = Assignment(
    id="lstm",
    position=5,
    title="LSTM forward pass and backpropagation through time",
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
        *AUTODIFF,
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
            oracle=_oracle_cell,
        ),
        Function(
            name="lstm_forward",
            axes=(Axis("step", path=(0,)),),
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
            oracle=_oracle_forward,
        ),
        Function(
            name="lstm_backward",
            axes=(Axis("step", path=("x",), backward=True),),
            cases=(
                Case("seq_T5", _bwd_case(5, 3, 4, 5), points=2.0, description="T=5, N=3, I=4, H=5, non-zero state"),
                Case("single_step_T1", _bwd_case(1, 2, 3, 4), description="T=1: no recurrent or cell term"),
                Case("zero_init", _bwd_case(4, 2, 3, 3, zero_state=True), description="T=4, h0 = c0 = 0"),
                Case("batch_1", _bwd_case(6, 1, 2, 3), description="T=6, N=1"),
                Case("input_ne_hidden", _bwd_case(4, 2, 5, 2), description="T=4, I=5, H=2"),
                Case("saturating", _bwd_case(5, 2, 3, 4, x_scale=2.0, w_scale=2.0),
                     description="T=5, weights ~ N(0, 4): saturated gates"),
                Case("long_T10", _bwd_case(10, 2, 3, 4, w_scale=0.8), points=2.0, hidden=True,
                     description="T=10, N=2, I=3, H=4"),
                Case("large_1e4", _bwd_case(3, 2, 3, 2, x_scale=1e4), hidden=True, tolerance=_LARGE_TOL,
                     gradcheck=False,
                     description="inputs ~ 1e4: saturated gates (no finite-difference check at this scale)"),
            ),
            tolerance=_BWD_TOL,
            gradcheck=_BACKWARD_GRADCHECK,
            mistakes=_BACKWARD_MISTAKES,
            oracle=_oracle_backward,
        ),
    ),
)
