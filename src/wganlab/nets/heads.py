"""Generators and discriminators that take class labels, and the discriminator head the tricks plug into.

:class:`ConditionalGenerator` concatenates the one-hot label to z (the guide's §3.3; every conditioning mode).
:class:`HeadedDiscriminator` splits any DCGAN-family or MLP discriminator into its body (the convolutions) and
a head rebuilt from dense layers, in this order::

    body(x [+ label channels]) -> flatten -> [+ one-hot label] -> [dense d_dense] -> [minibatch discrimination]
        -> [dense dense_after] -> linear -> score [+ <embed(y), features>]

The body's flattened output is what feature matching compares by default ('features'); 'last' is the input of
the output layer. A convolution covering the whole remaining feature map (the DCGAN output layer) is the same
function as a dense layer on the flattened map, so the unconditional network without tricks is unchanged in kind.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from wganlab.errors import ConfigError
from wganlab.tricks.minibatch.layer import MinibatchDiscrimination


class ConditionalGenerator(nn.Module):
    """G(z, y): the plain generator on [z, one_hot(y)] (Mirza & Osindero 2014)."""

    def __init__(self, network: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.network, self.num_classes = network, num_classes

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            raise ValueError(f"this generator is conditional: give a class in [0, {self.num_classes}) per latent")
        return self.network(torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1))


def split_body(discriminator: nn.Sequential) -> nn.Sequential:
    """The discriminator without its output layer (a conv covering the map, or a dense layer, to one score)."""
    layers = list(_flat_layers(discriminator))
    while layers and isinstance(layers[-1], (nn.Flatten, nn.Identity)):
        layers.pop()
    if not layers or not isinstance(layers[-1], (nn.Conv2d, nn.Linear)) or _out_features(layers[-1]) != 1:
        raise ConfigError("this discriminator does not end in a single-output layer, so no head can be attached; "
                          "use arch=dcgan, guide-dcgan or mlp")
    return nn.Sequential(*layers[:-1], nn.Flatten())


def _flat_layers(module: nn.Module):
    for child in module.children():
        if isinstance(child, nn.Sequential):
            yield from _flat_layers(child)
        else:
            yield child


def _out_features(layer: nn.Module) -> int:
    return layer.out_channels if isinstance(layer, nn.Conv2d) else layer.out_features


class HeadedDiscriminator(nn.Module):
    def __init__(self, body: nn.Module, sample_shape: tuple[int, ...], num_classes: int = 0,
                 conditioning: str = "none", dense: int = 0, minibatch_kernels: int = 0, minibatch_dim: int = 5,
                 dense_after: int = 0, leaky_slope: float = 0.2) -> None:
        super().__init__()
        self.body, self.num_classes, self.conditioning = body, num_classes, conditioning
        self.slope = leaky_slope
        with torch.no_grad():  # in eval mode, so that the probe leaves batch-norm running statistics alone
            probe = torch.zeros(2, *self._body_input_shape(sample_shape))
            width = self.body.eval()(probe).shape[1]
            self.body.train()
        self.body_features = width
        if conditioning == "concat":
            width += num_classes
        self.dense = nn.Linear(width, dense) if dense else None
        width = dense or width
        self.minibatch = MinibatchDiscrimination(width, minibatch_kernels, minibatch_dim) if minibatch_kernels \
            else None
        width += minibatch_kernels
        self.dense_after = nn.Linear(width, dense_after) if dense_after else None
        width = dense_after or width
        self.output = nn.Linear(width, 1)
        self.embed = nn.Embedding(num_classes, width) if conditioning == "projection" else None

    def _body_input_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.conditioning != "channels":
            return shape
        if len(shape) == 1:
            return (shape[0] + self.num_classes,)
        return (shape[0] + self.num_classes, *shape[1:])

    def _body_input(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if self.conditioning != "channels":
            return x
        onehot = F.one_hot(labels, self.num_classes).to(x.dtype)
        if x.dim() == 2:
            return torch.cat([x, onehot], 1)
        return torch.cat([x, onehot[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None, layer: str = "features") -> torch.Tensor:
        """The body's flattened output ('features') or the output layer's input ('last')."""
        return self._forward(x, y)[1 if layer == "features" else 2]

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self._forward(x, y)[0]

    def _forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        body = self.body(self._body_input(x, labels))
        h = body
        if self.conditioning == "concat":
            h = torch.cat([h, F.one_hot(labels, self.num_classes).to(h.dtype)], 1)
        if self.dense is not None:
            h = F.leaky_relu(self.dense(h), self.slope)
        if self.minibatch is not None:
            h = self.minibatch(h)
        if self.dense_after is not None:
            h = F.leaky_relu(self.dense_after(h), self.slope)
        score = self.output(h)
        if self.embed is not None:  # Miyato & Koyama 2018: ψ(φ(x)) + <embed(y), φ(x)>
            score = score + (self.embed(labels) * h).sum(1, keepdim=True)
        return score, body, h


