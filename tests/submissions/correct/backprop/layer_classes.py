"""Correct backprop as a small layer library: each layer's forward() caches its inputs and backward()
returns the gradients; the network collects them in an OrderedDict (as many course frameworks do)."""
from collections import OrderedDict

import torch


class Affine:
    def __init__(self, W, b):
        self.params = {"W": W, "b": b}
        self.grads = {}
        self.x = None

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"] = self.x.t() @ dout
        self.grads["b"] = dout.sum(dim=0)
        return dout @ self.params["W"].t()


class ReLU:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.clone()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dx = dout.clone()
        dx[self.mask] = 0
        return dx


class SoftmaxWithLoss:
    def __init__(self):
        self.probs = None
        self.y = None

    def forward(self, scores, y):
        shifted = scores - scores.max(dim=1, keepdim=True).values
        log_z = torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
        log_probs = shifted - log_z
        self.probs = torch.exp(log_probs)
        self.y = y
        return -log_probs[torch.arange(scores.shape[0]), y].mean()

    def backward(self, dout=1.0):
        N = self.probs.shape[0]
        dscores = self.probs.clone()
        dscores[torch.arange(N), self.y] -= 1
        return dscores * dout / N


class TwoLayerNet:
    def __init__(self, W1, b1, W2, b2):
        self.layers = OrderedDict()
        self.layers["Affine1"] = Affine(W1, b1)
        self.layers["Relu1"] = ReLU()
        self.layers["Affine2"] = Affine(W2, b2)
        self.last_layer = SoftmaxWithLoss()

    def loss(self, x, y):
        for layer in self.layers.values():
            x = layer.forward(x)
        return self.last_layer.forward(x, y)

    def gradient(self, x, y):
        loss = self.loss(x, y)
        dout = self.last_layer.backward(1.0)
        for layer in reversed(list(self.layers.values())):
            dout = layer.backward(dout)
        grads = OrderedDict()
        grads["W1"] = self.layers["Affine1"].grads["W"]
        grads["b1"] = self.layers["Affine1"].grads["b"]
        grads["W2"] = self.layers["Affine2"].grads["W"]
        grads["b2"] = self.layers["Affine2"].grads["b"]
        return loss, grads


def affine_backward(grad_out, x, W):
    layer = Affine(W, torch.zeros(W.shape[1], dtype=W.dtype, device=W.device))
    layer.forward(x)
    dx = layer.backward(grad_out)
    return dx, layer.grads["W"], layer.grads["b"]


def relu_backward(grad_out, x):
    layer = ReLU()
    layer.forward(x)
    return layer.backward(grad_out)


def mlp_loss_and_grads(x, y, W1, b1, W2, b2):
    return TwoLayerNet(W1, b1, W2, b2).gradient(x, y)
