"""Correct activations as many course solutions write them: a clamp in the sigmoid, and a 1e-8 epsilon in
the softmax's denominator "to avoid division by zero" (harmless: the shifted sum is >= 1)."""
import torch

EPS = 1e-8


def sigmoid(x):
    # exp(500) is finite in float64 and inf in float32: both give the right limit, never inf/inf
    return 1.0 / (1.0 + torch.exp(-torch.clamp(x, -500.0, 500.0)))


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1.0 - s)


def softmax(x, dim=-1):
    e = torch.exp(x - torch.max(x, dim=dim, keepdim=True)[0])
    return e / (torch.sum(e, dim=dim, keepdim=True) + EPS)


def softmax_jacobian(x):
    s = softmax(x, dim=-1)
    C = s.shape[-1]
    eye = torch.eye(C, dtype=s.dtype, device=s.device)
    return s.unsqueeze(-1) * (eye - s.unsqueeze(-2))


def softmax_backward(grad_output, s):
    # v^T J with J = diag(s) - s s^T, row by row through the Jacobian
    J = s.unsqueeze(-1) * (torch.eye(s.shape[-1], dtype=s.dtype, device=s.device) - s.unsqueeze(-2))
    return (grad_output.unsqueeze(-2) @ J).squeeze(-2)
