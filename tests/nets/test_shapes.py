"""Output shapes of every architecture at every size it supports, and the studies' exact layer tables."""

import pytest
import torch
from torch import nn

from wganlab.config import load_config
from wganlab.errors import ConfigError
from wganlab.nets.build import build_networks


def build(*overrides, preset="dcgan", shape=(1, 28, 28)):
    return build_networks(load_config(preset, list(overrides)), shape)


def check(nets, shape, n=3):
    nets.generator.eval()
    nets.discriminator.eval()
    z = torch.randn(n, nets.latent_dim)
    x = nets.generator(z)
    assert x.shape == (n, *shape)
    out = nets.discriminator(x)
    assert out.shape == (n, 1)
    return x


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("kernel", [3, 4, 5, 7])
def test_dcgan_family_sizes_and_kernels(size, channels, kernel):
    shape = (channels, size, size)
    check(build(f"model.kernel_size={kernel}", "model.width=8", shape=shape), shape)


@pytest.mark.parametrize("upsample", ["transposed", "nearest"])
@pytest.mark.parametrize("downsample", ["strided", "maxpool"])
@pytest.mark.parametrize("d_norm", ["batch", "layer", "instance", "none"])
def test_dcgan_family_options(upsample, downsample, d_norm):
    for size in (28, 32):
        shape = (1, size, size)
        nets = build(f"model.upsample={upsample}", f"model.downsample={downsample}", f"model.d_norm={d_norm}",
                     "model.width=8", "model.g_activation=leaky_relu", "model.d_activation=elu", shape=shape)
        check(nets, shape)


def test_guide_dcgan_matches_section_3_1_7():
    nets = build("model.arch=guide-dcgan", "model.kernel_size=5", shape=(3, 32, 32))
    x = check(nets, (3, 32, 32))
    assert x.abs().max() <= 1
    g_convs = [m for m in nets.generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [c.out_channels for c in g_convs] == [256, 128, 64, 3]
    assert [c.stride[0] for c in g_convs] == [2, 2, 2, 1]
    assert all(c.kernel_size == (5, 5) for c in g_convs)
    dense = next(m for m in nets.generator.modules() if isinstance(m, nn.Linear))
    assert (dense.in_features, dense.out_features) == (100, 256 * 4 * 4)
    d_convs = [m for m in nets.discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in d_convs] == [64, 128, 256, 1]
    assert d_convs[-1].kernel_size == (4, 4)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in nets.discriminator.modules()) == 3


def test_guide_dcgan_adapts_to_28_pixels():
    check(build("model.arch=guide-dcgan", "model.kernel_size=5"), (1, 28, 28))


def test_tf_tutorial_layers():
    nets = build("model.arch=tf-tutorial")
    check(nets, (1, 28, 28))
    assert nets.latent_dim == 100
    dense = nets.generator[0]
    assert dense.out_features == 7 * 7 * 256 and dense.bias is None
    leaky = [m for m in nets.generator.modules() if isinstance(m, nn.LeakyReLU)]
    assert leaky and all(m.negative_slope == 0.3 for m in leaky)
    assert sum(isinstance(m, nn.Dropout) and m.p == 0.3 for m in nets.discriminator.modules()) == 2


def test_tf_same_padding_is_tensorflows():
    # TF pads stride-2 k5 convs on 28 px by 1 before and 2 after; the centre of the image maps to index 6/7.
    from wganlab.nets.layers import tf_same_conv, tf_same_conv_transpose

    conv = tf_same_conv(1, 1, 5, 2, 28)
    assert conv[0].padding == (1, 2, 1, 2)
    assert conv(torch.zeros(1, 1, 28, 28)).shape[-1] == 14
    up = tf_same_conv_transpose(1, 1, 5, 2, 7)
    assert up(torch.zeros(1, 1, 7, 7)).shape[-1] == 14


@pytest.mark.parametrize(("size", "channels"), [(28, 1), (32, 3), (64, 3)])
@pytest.mark.parametrize("d_norm", ["batch", "layer"])
def test_dtu_networks(size, channels, d_norm):
    nets = build("model.arch=dtu-dcgan", f"model.d_norm={d_norm}", preset="dtu-gan", shape=(channels, size, size))
    check(nets, (channels, size, size))
    assert nets.latent_dim == 100
    first = next(m for m in nets.generator.modules() if isinstance(m, nn.ConvTranspose2d))
    assert first.in_channels == 100
    layer_norms = [m for m in nets.discriminator.modules() if isinstance(m, nn.LayerNorm)]
    assert bool(layer_norms) == (d_norm == "layer")
    relus = [m for m in nets.discriminator.modules() if isinstance(m, nn.ReLU)]
    assert relus  # the DTU study's critic uses plain ReLU


def test_gulrajani_networks():
    toy = build(preset="gulrajani-toy", shape=(2,))
    assert toy.latent_dim == 2
    assert toy.generator(torch.randn(5, 2)).shape == (5, 2) and toy.discriminator(torch.randn(5, 2)).shape == (5, 1)
    assert [m.out_features for m in toy.discriminator.modules() if isinstance(m, nn.Linear)] == [512, 512, 512, 1]
    mnist = build(preset="gulrajani-mnist")
    x = check(mnist, (1, 28, 28))
    assert mnist.latent_dim == 128 and x.min() >= 0 and x.max() <= 1  # sigmoid output


def test_arjovsky_dcgan64():
    nets = build(preset="arjovsky-wgan", shape=(3, 64, 64))
    check(nets, (3, 64, 64))
    assert all(m.bias is None for m in nets.discriminator.modules() if isinstance(m, nn.Conv2d))


def test_named_arch_refuses_wrong_size():
    with pytest.raises(ConfigError, match="64x64"):
        build(preset="arjovsky-wgan", shape=(1, 28, 28))


def test_mlp_on_images():
    check(build("model.arch=mlp", "model.width=32"), (1, 28, 28))
