"""Small building blocks shared by the network families: activations, normalizations, TF 'same' padding."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


def activation(name: str, leaky_slope: float = 0.2) -> nn.Module:
    return {
        "relu": lambda: nn.ReLU(),
        "leaky_relu": lambda: nn.LeakyReLU(leaky_slope),
        "elu": lambda: nn.ELU(),
        "tanh": lambda: nn.Tanh(),
        "sigmoid": lambda: nn.Sigmoid(),
        "none": lambda: nn.Identity(),
    }[name]()


def output_activation(pixel_range: str) -> nn.Module:
    """tanh for pixels in [-1, 1], sigmoid for [0, 1] (Gulrajani's MNIST generator)."""
    return nn.Tanh() if pixel_range == "symmetric" else nn.Sigmoid()


def norm2d(name: str, channels: int) -> nn.Module:
    """Feature-map normalization by name.

    ``layer`` normalizes each sample over (C, H, W) with a per-channel affine (GroupNorm with one group): the
    batch-independent choice that the gradient penalty needs (Gulrajani et al. §4).
    """
    if name == "batch":
        return nn.BatchNorm2d(channels)
    if name == "layer":
        return nn.GroupNorm(1, channels)
    if name == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


class Reshape(nn.Module):
    """Reshape to ``(N, *shape)``; the dense-to-feature-map step of a DCGAN generator."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Crop(nn.Module):
    """Keep rows and columns ``[start, start + size)``: TF's 'same' transposed conv and Gulrajani's 8 -> 7 crop."""

    def __init__(self, start: int, size: int) -> None:
        super().__init__()
        self.start, self.size = start, size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, self.start : self.start + self.size, self.start : self.start + self.size]

    def extra_repr(self) -> str:
        return f"start={self.start}, size={self.size}"


def tf_same_conv(in_ch: int, out_ch: int, kernel: int, stride: int, size: int, bias: bool = True) -> nn.Sequential:
    """Conv2d with TensorFlow's 'same' padding (extra row and column at the end when odd), for input ``size``."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    before = total // 2
    pad = nn.ZeroPad2d((before, total - before, before, total - before))
    return nn.Sequential(pad, nn.Conv2d(in_ch, out_ch, kernel, stride, bias=bias))


def tf_same_conv_transpose(in_ch: int, out_ch: int, kernel: int, stride: int, size: int,
                           bias: bool = True) -> nn.Sequential:
    """ConvTranspose2d with TensorFlow's 'same' padding: output ``size * stride``, cropped as TF crops it."""
    before = max(kernel - stride, 0) // 2
    return nn.Sequential(nn.ConvTranspose2d(in_ch, out_ch, kernel, stride, bias=bias), Crop(before, size * stride))


def same_conv(in_ch: int, out_ch: int, kernel: int, bias: bool = True) -> nn.Module:
    """Stride-1 conv that keeps the size; even kernels pad one more pixel after than before (as TF does)."""
    if kernel % 2:
        return nn.Conv2d(in_ch, out_ch, kernel, 1, padding=kernel // 2, bias=bias)
    before = (kernel - 1) // 2
    return nn.Sequential(nn.ZeroPad2d((before, before + 1, before, before + 1)),
                         nn.Conv2d(in_ch, out_ch, kernel, 1, bias=bias))


def upsample_conv(in_ch: int, out_ch: int, kernel: int, mode: str, bias: bool = True) -> nn.Module:
    """Exact 2x upsampling: a transposed conv, or nearest-neighbour upsampling then a 'same' conv (the guide, §2.2)."""
    if mode == "nearest":
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), same_conv(in_ch, out_ch, kernel, bias))
    padding = (kernel - 1) // 2
    return nn.ConvTranspose2d(in_ch, out_ch, kernel, 2, padding=padding, output_padding=kernel % 2, bias=bias)


def downsample_conv(in_ch: int, out_ch: int, kernel: int, mode: str, bias: bool = True) -> nn.Module:
    """Halve the resolution: a stride-2 conv, or a 'same' conv followed by 2x2 max-pooling (the guide, §2.2)."""
    if mode == "maxpool":
        return nn.Sequential(same_conv(in_ch, out_ch, kernel, bias), nn.MaxPool2d(2))
    return nn.Conv2d(in_ch, out_ch, kernel, 2, padding=(kernel - 1) // 2, bias=bias)


def downsampled_size(size: int, kernel: int, mode: str) -> int:
    if mode == "maxpool":
        return size // 2
    padding = (kernel - 1) // 2
    return (size + 2 * padding - kernel) // 2 + 1


class LabelFree(nn.Sequential):
    """A plain network called the way every wganlab network is, ``net(x, y=None)``; it takes no labels."""

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is not None:
            raise ValueError("this network is not conditional: call it without labels")
        return super().forward(x)


def label_free(network: nn.Module) -> nn.Module:
    """A plain ``nn.Sequential`` as :class:`LabelFree`, with the same children under the same names (so the same
    state-dict keys); any other network already takes ``(x, y=None)``."""
    if type(network) is not nn.Sequential:
        return network
    return LabelFree(OrderedDict(network.named_children()))
