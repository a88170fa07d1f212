"""The configurable DCGAN family for 28, 32 and 64 pixel images (Radford et al. 2016; the practical guide, §3.1.7).

Generator: dense layer to ``2^(n-1)·width`` channels at 4x4, then n upsampling blocks halving the channels
(``2^(n-1)·width`` ... ``width``) and a stride-1 output conv, with n = 3 for 28/32 px and 4 for 64 px. At 28 px
the first block's 8x8 is cropped to 7x7 (Gulrajani et al.'s MNIST rule), so the 28 and 32 pixel networks have
the same layers and parameter count. With width 64 and kernel 5 this is the guide's §3.1.7 generator.

Discriminator: n downsampling blocks with ``width``, ``2·width``, ... channels (no normalization on the first,
as in DCGAN), then a valid conv covering the remaining feature map, giving one score per sample.
"""

from __future__ import annotations

from torch import nn

from wganlab.config import ModelConfig
from wganlab.errors import ConfigError
from wganlab.nets.layers import (
    Crop,
    Reshape,
    activation,
    downsample_conv,
    downsampled_size,
    norm2d,
    output_activation,
    same_conv,
    upsample_conv,
)

SIZES = (28, 32, 64)


def stages_for(size: int) -> int:
    if size not in SIZES:
        raise ConfigError(f"the DCGAN family supports {', '.join(map(str, SIZES))} pixel images, not {size}; set "
                          f"data.image_size to one of them (images are resized once), or use arch=mlp")
    return 4 if size == 64 else 3


def dcgan_generator(model: ModelConfig, shape: tuple[int, int, int], pixel_range: str) -> nn.Sequential:
    channels, size, _ = shape
    stages = stages_for(size)
    width, kernel = model.width, model.kernel_size
    top = width * 2 ** (stages - 1)
    use_bias = model.g_norm == "none"  # a bias before batch norm is cancelled by its mean subtraction
    layers: list[nn.Module] = [
        nn.Linear(model.latent_dim, top * 16, bias=use_bias),
        Reshape(top, 4, 4),
        _norm1(model.g_norm, top),
        activation(model.g_activation, model.leaky_slope),
    ]
    in_ch = top
    for stage in range(stages):
        out_ch = width * 2 ** (stages - 1 - stage)
        layers.append(upsample_conv(in_ch, out_ch, kernel, model.upsample, bias=use_bias))
        if stage == 0 and size == 28:
            layers.append(Crop(0, 7))
        layers += [norm2d(model.g_norm, out_ch), activation(model.g_activation, model.leaky_slope)]
        in_ch = out_ch
    layers += [same_conv(in_ch, channels, kernel), output_activation(pixel_range)]
    return nn.Sequential(*layers)


def dcgan_discriminator(model: ModelConfig, shape: tuple[int, int, int]) -> nn.Sequential:
    channels, size, _ = shape
    stages = stages_for(size)
    width, kernel = model.width, model.kernel_size
    layers: list[nn.Module] = []
    in_ch, spatial = channels, size
    for stage in range(stages):
        out_ch = width * 2**stage
        norm = "none" if stage == 0 else model.d_norm
        layers += [
            downsample_conv(in_ch, out_ch, kernel, model.downsample, bias=norm != "batch"),
            norm2d(norm, out_ch),
            activation(model.d_activation, model.leaky_slope),
        ]
        in_ch, spatial = out_ch, downsampled_size(spatial, kernel, model.downsample)
    layers += [nn.Conv2d(in_ch, 1, spatial), nn.Flatten()]
    return nn.Sequential(*layers)


def _norm1(name: str, channels: int) -> nn.Module:
    """Normalization after the dense layer (already reshaped to a feature map)."""
    return norm2d(name if name == "batch" else "none", channels)
