"""Student-style batchnorm with one deliberate mistake: bn_backward_dgamma_no_xhat.
"""
import torch


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    C = x.shape[1]
    outs, new_means, new_vars = [], [], []
    for c in range(C):
        xc = x[:, c]  # (N, *)
        if training:
            m = torch.mean(xc)
            v = torch.var(xc, unbiased=False)
            v_unb = torch.var(xc, unbiased=True)
            new_means.append((1 - momentum) * running_mean[c] + momentum * m)
            new_vars.append((1 - momentum) * running_var[c] + momentum * v_unb)
        else:
            m, v = running_mean[c], running_var[c]
            new_means.append(running_mean[c])
            new_vars.append(running_var[c])
        outs.append(gamma[c] * (xc - m) / (v + eps) ** 0.5 + beta[c])
    out = torch.stack(outs, dim=1)
    return out, torch.stack(new_means), torch.stack(new_vars)


def batchnorm_backward(grad_out, x, gamma, eps=1e-5):
    C = x.shape[1]
    dxs, dgammas, dbetas = [], [], []
    for c in range(C):
        xc, gc = x[:, c], grad_out[:, c]  # (N, *)
        m = xc.numel()
        mu = torch.mean(xc)
        v = torch.var(xc, unbiased=False)
        inv = 1.0 / (v + eps) ** 0.5
        xhat = (xc - mu) * inv
        dxhat = gc * gamma[c]
        dxs.append(inv / m * (m * dxhat - dxhat.sum() - xhat * (dxhat * xhat).sum()))
        dgammas.append(gc.sum())
        dbetas.append(gc.sum())
    return torch.stack(dxs, dim=1), torch.stack(dgammas), torch.stack(dbetas)
