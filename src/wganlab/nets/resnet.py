"""Residual generators and critics: Gulrajani et al.'s CIFAR-10 ResNet and Miyato et al.'s SNGAN ResNets.

Both papers use the same pre-activation blocks (He et al. 2016), written in ``gan_cifar_resnet.py``
(``ResidualBlock``, ``OptimizedResBlockDisc1``) and in SNGAN's ``resblocks.py``:

- generator block: norm → ReLU → nearest 2x upsampling → conv 3x3 → norm → ReLU → conv 3x3, plus a shortcut
  (upsampling → conv 1x1) where the block resamples or changes width;
- critic block: ReLU → conv 3x3 → ReLU → conv 3x3 → 2x2 mean pooling, shortcut conv 1x1 → mean pooling; the
  critic's first block ("optimized") starts with the conv, not the ReLU, and pools its shortcut before the conv.
  A 1x1 conv and a mean pool are both linear and per-pixel, so which comes first is the same function.

A critic ends with ReLU, pooling over space (Gulrajani: mean, SNGAN: sum) and a linear layer to one score.
Gulrajani's ``UpsampleConv`` tiles each pixel into a 2x2 block (``depth_to_space`` of four copies), which is
nearest-neighbour upsampling. Both initialise the residual convs uniformly with variance 4 / (fan_in + fan_out)
(Xavier-uniform with gain √2; ``init_gain`` below) and the shortcuts, the linear layers and the output conv with
gain 1 (scheme ``resnet`` in :mod:`wganlab.nets.init`).

At 28 pixels the generator's first 8x8 map is cropped to 7x7 (Gulrajani et al.'s MNIST rule, as in the DCGAN
family) and the critic's last downsampling lands on 7x7; every layer and parameter count is the 32-pixel one.
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
from torch import nn

from wganlab.config import ModelConfig
from wganlab.errors import ConfigError
from wganlab.nets.layers import Crop, Reshape, norm2d, output_activation

RESIDUAL_GAIN = math.sqrt(2.0)


def conv(in_ch: int, out_ch: int, kernel: int, gain: float = 1.0) -> nn.Conv2d:
    """A 'same' convolution (with bias, as both papers' code), tagged with the gain its initialisation uses."""
    layer = nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2)
    layer.init_gain = gain
    return layer


class GeneratorBlock(nn.Module):
    """One upsampling residual block of the generator."""

    def __init__(self, in_ch: int, out_ch: int, norm: str) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            norm2d(norm, in_ch), nn.ReLU(), nn.Upsample(scale_factor=2),
            conv(in_ch, out_ch, 3, RESIDUAL_GAIN), norm2d(norm, out_ch), nn.ReLU(),
            conv(out_ch, out_ch, 3, RESIDUAL_GAIN),
        )  # fmt: skip
        self.shortcut = nn.Sequential(nn.Upsample(scale_factor=2), conv(in_ch, out_ch, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class CriticBlock(nn.Module):
    """One residual block of the critic, halving the resolution when ``downsample``; ``first`` is the optimized
    block that meets the image (no ReLU before its first conv, shortcut pooled before its conv)."""

    def __init__(self, in_ch: int, out_ch: int, norm: str, downsample: bool, first: bool = False) -> None:
        super().__init__()
        pool: list[nn.Module] = [nn.AvgPool2d(2)] if downsample else []
        layers: list[nn.Module] = [] if first else [norm2d(norm, in_ch), nn.ReLU()]
        layers += [conv(in_ch, out_ch if first else in_ch, 3, RESIDUAL_GAIN)]
        layers += [nn.ReLU()] if first else [norm2d(norm, in_ch), nn.ReLU()]
        layers += [conv(out_ch if first else in_ch, out_ch, 3, RESIDUAL_GAIN), *pool]
        self.residual = nn.Sequential(*layers)
        learnable = first or downsample or in_ch != out_ch
        self.shortcut = nn.Sequential(*pool, conv(in_ch, out_ch, 1)) if learnable else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class SpatialPool(nn.Module):
    """Mean (Gulrajani et al.) or sum (Miyato et al.) over the feature map, one vector per sample."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3)) if self.mode == "mean" else x.sum(dim=(2, 3))

    def extra_repr(self) -> str:
        return self.mode


def resnet_generator(latent_dim: int, channels: int, size: int, widths: tuple[int, ...], norm: str,
                     pixel_range: str) -> nn.Sequential:
    """A linear layer to ``widths[0]`` channels at 4x4, one upsampling block per further width, then norm, ReLU,
    conv 3x3 to the image and the output activation."""
    _check_size(size, len(widths) - 1)
    layers: list[nn.Module] = [nn.Linear(latent_dim, widths[0] * 16), Reshape(widths[0], 4, 4)]
    for i, (in_ch, out_ch) in enumerate(pairwise(widths)):
        layers.append(GeneratorBlock(in_ch, out_ch, norm))
        if i == 0 and size == 28:
            layers.append(Crop(0, 7))
    layers += [norm2d(norm, widths[-1]), nn.ReLU(), conv(widths[-1], channels, 3), output_activation(pixel_range)]
    return nn.Sequential(*layers)


def resnet_critic(channels: int, size: int, widths: tuple[int, ...], downsampling: int, norm: str,
                  pool: str) -> nn.Sequential:
    """The optimized block to ``widths[0]``, then one block per further width; the first ``downsampling``
    blocks halve the resolution. ReLU, spatial pooling and a linear layer give one score per sample."""
    if size % 2**downsampling:
        raise ConfigError(f"this ResNet critic halves the image {downsampling} times, so it needs a size that "
                          f"{2 ** downsampling} divides, not {size}x{size}; pick another arch or size")
    blocks = [CriticBlock(channels, widths[0], norm, downsample=True, first=True)]
    blocks += [CriticBlock(i, o, norm, downsample=n + 1 < downsampling)
               for n, (i, o) in enumerate(pairwise(widths))]
    return nn.Sequential(*blocks, nn.ReLU(), SpatialPool(pool), nn.Linear(widths[-1], 1))


def _check_size(size: int, halvings: int) -> None:
    if size == 28 and halvings == 3:
        return
    if size != 4 * 2**halvings:
        raise ConfigError(f"this ResNet makes {4 * 2 ** halvings}x{4 * 2 ** halvings} images"
                          f"{' (or 28x28)' if halvings == 3 else ''}, not {size}x{size}; pick another arch or size")


def resnet_family(model: ModelConfig, shape: tuple[int, ...], pixel_range: str) -> tuple[nn.Module, nn.Module,
                                                                                          int, str]:
    """``arch=resnet``: Gulrajani et al.'s topology with ``model.width`` channels in every block (three
    upsampling blocks to 28/32 px, four to 64), the critic's blocks after the optimized one downsampling to 8x8
    (7x7 at 28 px), mean pooling. Norms follow ``model.g_norm`` and ``model.d_norm`` (``none`` for R1/R2 or a
    gradient penalty); initialisation follows ``model.init`` (``resnet`` is the papers')."""
    if len(shape) != 3 or shape[1] not in (28, 32, 64):
        got = "2D points" if len(shape) == 1 else f"{shape[1]}x{shape[2]} images"
        raise ConfigError(f"arch=resnet needs 28x28, 32x32 or 64x64 images but the data are {got}; "
                          "use arch=mlp for points or data.image_size to resize")
    channels, size = shape[0], shape[1]
    blocks = 4 if size == 64 else 3
    widths = (model.width,) * (blocks + 1)
    generator = resnet_generator(model.latent_dim, channels, size, widths, model.g_norm, pixel_range)
    critic = resnet_critic(channels, size, widths, blocks - 1, model.d_norm, "mean")
    return generator, critic, model.latent_dim, model.init
