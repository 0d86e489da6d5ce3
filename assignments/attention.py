"""Assignment ``attention``: scaled dot-product and multi-head attention.

Implement scaled dot-product attention and multi-head attention by hand,
matching ``torch.nn.functional.scaled_dot_product_attention`` (plus the
attention weights) and ``torch.nn.MultiheadAttention(E, num_heads,
batch_first=True)`` with the same weights and ``need_weights=True``; and the
two helpers a Transformer needs around them: the sinusoidal positional
encoding and the causal mask.

Masks: ``mask`` is a bool tensor where True means "may attend" and False means
"masked out" -- the OPPOSITE of the bool ``attn_mask`` of
torch.nn.MultiheadAttention. A row of the mask always has at least one True.

Banned (the grader checks statically and while your code runs):
    torch.nn.functional.scaled_dot_product_attention,
    torch.nn.functional.multi_head_attention_forward, every torch.nn module
    (nn.MultiheadAttention, nn.Linear, ...), torch.tril / torch.triu (and
    the Tensor methods; they would make causal_mask a one-liner), and autograd
    (.backward(), torch.autograd.*, torch.func.*). The point is to write
    attention yourself.
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


def sinusoidal_positional_encoding(length, d_model, dtype=torch.float32):
    """The sinusoidal positional encoding of "Attention Is All You Need" (section 3.5).

    For position p = 0..length-1 and i = 0..d_model/2 - 1:
        PE[p, 2i]     = sin(p / 10000^(2i / d_model))
        PE[p, 2i + 1] = cos(p / 10000^(2i / d_model))
    Even columns hold sines, odd columns cosines; columns 2i and 2i+1 share
    the same frequency.

    Args:
        length: number of positions, int >= 1.
        d_model: embedding size, an even int.
        dtype: floating dtype of the result (default torch.float32).

    Returns:
        (length, d_model) tensor of dtype (on the CPU: there is no input
        tensor to take a device from).

    Edge cases: length == 1 gives the single row [0, 1, 0, 1, ...].
    Lengths of several thousand must stay accurate: in float32 an angle
    p * w near 1e4 is only good to ~1e-3, so computing the angles in float64
    and converting at the end is the safest.

    Banned: torch.nn modules and the functions listed at the top.

    Tip (from the interview notes): attention itself ignores the order of
    the tokens; the positional encoding is added to the token embeddings to
    put it back (BERT instead learns its position embeddings).
    """
    # angle = ...            # (length, d_model // 2)
    raise NotImplementedError


def causal_mask(Lq, Lk=None):
    """The causal ("look-ahead") mask of a decoder, in this assignment's convention.

    mask[i, j] = True when query i may attend key j, i.e. j <= i; False for
    the future keys j > i. Top-left aligned: query i sees keys 0..i whatever
    Lk is (the mask of torch.nn.functional.scaled_dot_product_attention with
    is_causal=True). Pass it as ``mask`` to scaled_dot_product_attention.

    Args:
        Lq: number of queries, int >= 1.
        Lk: number of keys, int >= 1; None means Lk = Lq.

    Returns:
        (Lq, Lk) bool tensor (on the CPU).

    Banned here: torch.tril and torch.triu (also as Tensor methods): build
    it from index comparisons (torch.arange and broadcasting) or loops.

    Tip: True means "may attend", the OPPOSITE of the bool attn_mask of
    torch.nn.MultiheadAttention (True = blocked), where the causal mask is
    the upper triangle without the diagonal.
    """
    # i = ...                # (Lq, 1) query index
    raise NotImplementedError
