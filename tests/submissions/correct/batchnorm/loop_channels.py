"""Correct batchnorm: one Python iteration per channel, torch.mean/torch.var."""
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
