"""Multi-layer perceptrons: the 2D-toy networks (Gulrajani's 3x512 ReLU MLP), also usable on flattened images."""

from __future__ import annotations

import math

from torch import nn

from wganlab.nets.layers import Reshape, activation


def mlp(in_dim: int, out_dim: int, width: int, depth: int, act: str, leaky_slope: float = 0.2) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units, then a linear output layer."""
    layers: list[nn.Module] = []
    dim = in_dim
    for _ in range(depth):
        layers += [nn.Linear(dim, width), activation(act, leaky_slope)]
        dim = width
    layers.append(nn.Linear(dim, out_dim))
    return nn.Sequential(*layers)


def mlp_generator(latent_dim: int, sample_shape: tuple[int, ...], width: int, depth: int, act: str,
                  out_act: nn.Module | None = None, leaky_slope: float = 0.2) -> nn.Sequential:
    """z -> sample; images get an output activation and are reshaped to C x H x W."""
    net = mlp(latent_dim, math.prod(sample_shape), width, depth, act, leaky_slope)
    if out_act is not None:
        net.append(out_act)
    if len(sample_shape) > 1:
        net.append(Reshape(*sample_shape))
    return net


def mlp_discriminator(sample_shape: tuple[int, ...], width: int, depth: int, act: str,
                      leaky_slope: float = 0.2) -> nn.Sequential:
    """sample -> one score per sample (a logit for GANs, a critic value for WGANs)."""
    return nn.Sequential(nn.Flatten(), mlp(math.prod(sample_shape), 1, width, depth, act, leaky_slope))
