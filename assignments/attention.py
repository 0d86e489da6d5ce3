"""Assignment ``attention``: scaled dot-product and multi-head attention.

Implement scaled dot-product attention and multi-head attention by hand,
matching ``torch.nn.functional.scaled_dot_product_attention`` (plus the
attention weights) and ``torch.nn.MultiheadAttention(E, num_heads,
batch_first=True)`` with the same weights and ``need_weights=True``.

Masks: ``mask`` is a bool tensor where True means "may attend" and False means
"masked out" -- the OPPOSITE of the bool ``attn_mask`` of
torch.nn.MultiheadAttention. A row of the mask always has at least one True.

Banned (the grader checks statically and while your code runs):
    torch.nn.functional.scaled_dot_product_attention,
    torch.nn.functional.multi_head_attention_forward, every torch.nn module
    (nn.MultiheadAttention, nn.Linear, ...), and autograd (.backward(),
    torch.autograd.*, torch.func.*). The point is to write attention yourself.
    Allowed: torch.softmax, matmul/@, einsum, reshape/transpose/permute,
    masked_fill, torch.where, ...

    Also banned: quantizable MultiheadAttention (torch.ao), other libraries'
    attention (jax.nn.dot_product_attention, flax, tensorflow.keras,
    keras.layers), and any other automatic differentiation (jax.grad, jax.vjp,
    jax.jvp, jax.jacrev, jax.jacfwd, autograd.grad, tensorflow.GradientTape).

Rules for every function: inputs are torch.Tensors (float32 or float64; masks
are bool), on any device; outputs keep the input's dtype and device; never
modify an input in place. Scores can be large (inputs up to 1e4): the softmax
must not overflow.

Check your work with::

    grade check -a attention

(add the path of this file if it is not ./attention.py).
"""

import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    """Scaled dot-product attention (Vaswani et al., 2017).

    scores  = q @ k^T / sqrt(d)                                 # (..., Lq, Lk)
    scores  = -inf where mask is False                          (if mask is given)
    weights = softmax(scores, over the keys, i.e. the last dim) # (..., Lq, Lk)
    out     = weights @ v                                       # (..., Lq, dv)

    Args:
        q: (..., Lq, d) queries, float32/float64.
        k: (..., Lk, d) keys.
        v: (..., Lk, dv) values (dv may differ from d).
        mask: None or bool tensor broadcastable to (..., Lq, Lk);
            True = may attend, False = masked out.
        The leading dims "..." may be absent, one dim (N,) or several
        (e.g. (N, heads)); they broadcast like matmul.

    Returns:
        (out, weights):
            out: (..., Lq, dv), dtype and device of q.
            weights: (..., Lq, Lk), each row sums to 1 over the keys.

    Banned: torch.nn.functional.scaled_dot_product_attention,
    torch.nn.functional.multi_head_attention_forward, torch.nn modules,
    autograd. torch.softmax is allowed.

    Tip: d is the size of the query/key vectors (the dim the dot product sums
    over), not the size of the values.
    """
    # scores = ...           # (..., Lq, Lk)
    raise NotImplementedError


def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                         out_proj_weight, out_proj_bias, mask=None):
    """Multi-head attention, as torch.nn.MultiheadAttention(E, num_heads, batch_first=True).

    With h = num_heads and head_dim = E // h:
        W_q, W_k, W_v = in_proj_weight[0:E], [E:2E], [2E:3E]   # (E, E) each
        b_q, b_k, b_v = in_proj_bias[0:E], [E:2E], [2E:3E]     # (E,) each
        q = query @ W_q.T + b_q        # (N, Lq, E), likewise k, v: (N, Lk, E)
        split each into h heads: head j owns features [j*head_dim, (j+1)*head_dim)
            -> (N, h, L, head_dim)
        per head: scaled dot-product attention with scale 1/sqrt(head_dim)
        concatenate the heads back -> (N, Lq, E)
        out = concat @ out_proj_weight.T + out_proj_bias        # (N, Lq, E)
        weights = per-head attention weights averaged over the h heads

    Args:
        query: (N, Lq, E) float32/float64.
        key: (N, Lk, E).
        value: (N, Lk, E).
        num_heads: int h, divides E.
        in_proj_weight: (3E, E), rows [W_q; W_k; W_v].
        in_proj_bias: (3E,).
        out_proj_weight: (E, E).
        out_proj_bias: (E,).
        mask: None, or bool (Lq, Lk) (same for every batch element), or bool
            (N, Lq, Lk) (one per batch element, shared by all heads);
            True = may attend.

    Returns:
        (out, weights):
            out: (N, Lq, E), dtype and device of query.
            weights: (N, Lq, Lk), attention weights averaged over the heads.

    Banned: torch.nn.functional.scaled_dot_product_attention,
    torch.nn.functional.multi_head_attention_forward, torch.nn modules
    (nn.MultiheadAttention, nn.Linear, ...), autograd.

    Tip (from the interview notes on BERT): after attention the heads are
    transposed back and merged so that the output has the same shape as the
    input embedding (N, L, E) -- which is what lets a Transformer layer add it
    to its input (residual connection). Splitting must be the exact inverse:
    (N, L, E) -> (N, L, h, head_dim) -> transpose -> (N, h, L, head_dim).
    """
    # q = ...                # (N, Lq, E)
    raise NotImplementedError
