"""Student-style layer norm with one deliberate mistake: ln_backward_dgamma_no_xhat.
"""
import torch


def layernorm_forward(x, gamma, beta, eps=1e-5):
    D = x.shape[-1]
    rows = x.reshape(-1, D)
    out = torch.empty_like(rows)
    for i in range(rows.shape[0]):
        r = rows[i]
        mu = r.sum() / D
        var = ((r - mu) ** 2).sum() / D
        out[i] = gamma * (r - mu) / (var + eps) ** 0.5 + beta
    return out.reshape(x.shape)


def layernorm_backward(grad_out, x, gamma, eps=1e-5):
    D = x.shape[-1]
    rows = x.reshape(-1, D)
    grads = grad_out.reshape(-1, D)
    dx = torch.empty_like(rows)
    dgamma = torch.zeros(D, dtype=x.dtype, device=x.device)
    dbeta = torch.zeros(D, dtype=x.dtype, device=x.device)
    eye = torch.eye(D, dtype=x.dtype, device=x.device)
    for i in range(rows.shape[0]):
        r, g = rows[i], grads[i]
        mu = r.mean()
        var = ((r - mu) ** 2).mean()
        inv = 1.0 / torch.sqrt(var + eps)
        xhat = (r - mu) * inv
        # d xhat_j / d x_k = inv * (delta_jk - 1/D - xhat_j xhat_k / D)
        J = inv * (eye - 1.0 / D - torch.outer(xhat, xhat) / D)
        dx[i] = (g * gamma) @ J
        dgamma += g
        dbeta += g
    return dx.reshape(x.shape), dgamma, dbeta
