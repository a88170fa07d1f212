"""The residual blocks by hand, the ResNets' shapes at 28, 32 and 64 px, their initialisation and spectral norm."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tests.nets.test_shapes import build, check
from wganlab.config import load_config
from wganlab.errors import ConfigError
from wganlab.nets.build import build_networks
from wganlab.nets.resnet import CriticBlock, GeneratorBlock, SpatialPool, conv, resnet_critic


def test_generator_block_doubles_the_resolution_and_adds_its_upsampled_shortcut():
    block = GeneratorBlock(4, 6, "batch").eval()
    x = torch.randn(2, 4, 5, 5)
    assert block(x).shape == (2, 6, 10, 10)
    with torch.no_grad():
        shortcut = block.shortcut[1](x.repeat_interleave(2, 2).repeat_interleave(2, 3))  # nearest, then 1x1
        assert torch.allclose(block(x), block.residual(x) + shortcut)


def test_critic_block_halves_the_resolution_and_keeps_an_identity_shortcut_when_it_can():
    down = CriticBlock(4, 6, "none", downsample=True)
    assert down(torch.randn(2, 4, 8, 8)).shape == (2, 6, 4, 4)
    plain = CriticBlock(6, 6, "none", downsample=False)
    assert isinstance(plain.shortcut, nn.Identity)
    x = torch.randn(2, 6, 4, 4)
    assert torch.allclose(plain(x), plain.residual(x) + x)
    first = CriticBlock(3, 6, "none", downsample=True, first=True)
    assert not isinstance(first.residual[0], nn.ReLU)  # the optimized block meets the image with a conv


def test_pooling_then_1x1_conv_is_conv_then_pooling():
    """Gulrajani pools the shortcut before its 1x1 conv, SNGAN after: the same linear map."""
    layer, pool = conv(4, 3, 1), nn.AvgPool2d(2)
    x = torch.randn(2, 4, 6, 6)
    assert torch.allclose(layer(pool(x)), pool(layer(x)), atol=1e-6)


def test_spatial_pool_mean_and_sum():
    x = torch.arange(8.0).reshape(1, 2, 2, 2)
    assert SpatialPool("mean")(x).tolist() == [[1.5, 5.5]]
    assert SpatialPool("sum")(x).tolist() == [[6.0, 22.0]]


@pytest.mark.parametrize(("size", "channels"), [(28, 1), (32, 3), (64, 3)])
@pytest.mark.parametrize("d_norm", ["none", "layer", "batch"])
def test_resnet_family_sizes_and_critic_norms(size, channels, d_norm):
    nets = build("model.arch=resnet", "model.width=8", f"model.d_norm={d_norm}", shape=(channels, size, size))
    check(nets, (channels, size, size))
    norms = [m for m in nets.discriminator.modules() if isinstance(m, (nn.GroupNorm, nn.BatchNorm2d))]
    assert bool(norms) == (d_norm != "none")


def test_named_resnets_at_their_sizes():
    for preset, shape in [("wgan-gp-resnet", (3, 32, 32)), ("wgan-gp-resnet", (1, 28, 28)), ("sngan", (3, 32, 32)),
                          ("sngan", (3, 64, 64))]:
        nets = build(preset=preset, shape=shape)
        x = check(nets, shape, n=2)
        assert nets.latent_dim == 128 and x.abs().max() <= 1  # tanh
    with pytest.raises(ConfigError, match="arch=gulrajani-resnet needs 28x28 or 32x32"):
        build(preset="wgan-gp-resnet", shape=(3, 64, 64))


def test_sngan_critic_is_spectrally_normalized_everywhere_and_sums_over_space():
    nets = build(preset="sngan", shape=(3, 32, 32))
    layers = [m for m in nets.discriminator.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(hasattr(m, "parametrizations") for m in layers)
    assert [m.mode for m in nets.discriminator.modules() if isinstance(m, SpatialPool)] == ["sum"]
    gulrajani = build(preset="wgan-gp-resnet", shape=(3, 32, 32))
    assert [m.mode for m in gulrajani.discriminator.modules() if isinstance(m, SpatialPool)] == ["mean"]
    assert not any(hasattr(m, "parametrizations") for m in gulrajani.discriminator.modules())


def test_resnet_initialisation_is_xavier_with_gain_root_two_on_residual_convs():
    torch.manual_seed(0)
    nets = build(preset="wgan-gp-resnet", shape=(3, 32, 32))
    block = nets.generator[2]
    residual, shortcut = block.residual[3], block.shortcut[1]  # 3x3 conv 128 -> 128; 1x1 conv 128 -> 128
    bound = math.sqrt(2) * math.sqrt(6 / (2 * 128 * 9))  # Gulrajani's he_init: uniform, variance 4/(fan_in+out)
    assert residual.weight.abs().max() <= bound and residual.weight.abs().max() > 0.95 * bound
    assert shortcut.weight.abs().max() <= math.sqrt(6 / 256) and shortcut.weight.abs().max() > 0.95 * math.sqrt(6 / 256)
    assert residual.bias.abs().max() == 0


def test_resnet_critic_refuses_a_size_it_cannot_halve():
    with pytest.raises(ConfigError, match="4 divides"):
        resnet_critic(3, 30, (8, 8, 8), 2, "none", "mean")


def test_resnet_family_composes_with_conditioning_and_feature_matching():
    config = load_config("dcgan", ["data=mnist", "model.arch=resnet", "model.width=8", "model.d_norm=none",
                                   "conditioning.mode=projection", "tricks.feature_matching=features"])
    conditional = build_networks(config, (1, 28, 28), num_classes=10)
    y = torch.tensor([1, 7])
    fake = conditional.generator(torch.randn(2, conditional.latent_dim), y)
    assert conditional.discriminator(fake, y).shape == (2, 1)
    assert conditional.discriminator.features(fake, y, "features").shape[0] == 2
