"""Every named network has its source's layers, in its source's order, and its source's parameter count.

Each source is written here as its own list of parametrised layers, read from the code or text cited beside it,
and counted by the arithmetic below, independently of :mod:`wganlab.nets`; the headline count is also given as
the number the source prints or implies. Trainable parameters are weights, biases and norm scales/offsets;
"moving" counts batch norm's running mean and variance (what Keras's ``summary()`` calls non-trainable).
"""

from __future__ import annotations

import pytest
from torch import nn

from tests.nets.test_shapes import build

# (kind, in, out, kernel, bias): kind is linear, conv, deconv, bn (in = features), norm (per-channel affine)
Layer = tuple[str, int, int, int, bool]


def linear(i: int, o: int, bias: bool = True) -> Layer:
    return ("linear", i, o, 1, bias)


def conv(i: int, o: int, k: int, bias: bool = True) -> Layer:
    return ("conv", i, o, k, bias)


def deconv(i: int, o: int, k: int, bias: bool = True) -> Layer:
    return ("deconv", i, o, k, bias)


def bn(c: int) -> Layer:
    return ("bn", c, c, 1, True)


def counts(layers: list[Layer]) -> tuple[int, int]:
    """(trainable, moving) by hand: weight i·o·k², bias o, batch norm 2c trainable and 2c moving."""
    trainable = moving = 0
    for kind, i, o, k, bias in layers:
        if kind == "bn":
            trainable, moving = trainable + 2 * i, moving + 2 * i
        else:
            trainable += i * o * k * k + (o if bias else 0)
    return trainable, moving


def layers_of(network: nn.Module) -> list[Layer]:
    """Our network's parametrised layers in module order, in the same notation."""
    found: list[Layer] = []
    for m in network.modules():
        if isinstance(m, nn.Linear):
            found.append(linear(m.in_features, m.out_features, m.bias is not None))
        elif isinstance(m, nn.ConvTranspose2d):
            found.append(deconv(m.in_channels, m.out_channels, m.kernel_size[0], m.bias is not None))
        elif isinstance(m, nn.Conv2d):
            found.append(conv(m.in_channels, m.out_channels, m.kernel_size[0], m.bias is not None))
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            found.append(bn(m.num_features))
    return found


def ours(network: nn.Module) -> tuple[int, int]:
    trainable = sum(p.numel() for p in network.parameters())
    moving = sum(b.numel() for name, b in network.named_buffers() if name.endswith(("running_mean", "running_var")))
    return trainable, moving


def gen_block(i: int, o: int) -> list[Layer]:
    """A ResNet generator block in our module order: residual (BN, conv, BN, conv), then the 1x1 shortcut."""
    return [bn(i), conv(i, o, 3), bn(o), conv(o, o, 3), conv(i, o, 1)]


def critic_block(i: int, o: int, shortcut: bool, first: bool = False) -> list[Layer]:
    hidden = o if first else i
    return [conv(i, hidden, 3), conv(hidden, o, 3), *([conv(i, o, 1)] if shortcut else [])]


def gulrajani_cifar_critic(dim: int, pool_dim: int) -> list[Layer]:
    return [*critic_block(3, dim, True, first=True), *critic_block(dim, dim, True), *critic_block(dim, dim, False),
            *critic_block(dim, dim, False), linear(pool_dim, 1)]


SOURCES = {
    # The TensorFlow DCGAN tutorial (the MNIST blog's networks): Keras summary() prints 2,330,944 total /
    # 2,305,472 trainable / 25,472 non-trainable for the generator and 212,865 for the discriminator.
    "tf-tutorial": dict(
        preset="dcgan", shape=(1, 28, 28),
        generator=[linear(100, 12544, False), bn(12544), deconv(256, 128, 5, False), bn(128),
                   deconv(128, 64, 5, False), bn(64), deconv(64, 1, 5, False)],
        generator_count=(2_305_472, 25_472),
        discriminator=[conv(1, 64, 5), conv(64, 128, 5), linear(6272, 1)],
        discriminator_count=(212_865, 0)),
    # Gulrajani et al., gan_mnist.py in WGAN-GP mode (DIM 64): no batch norm outside MODE == 'wgan'.
    "gulrajani-mnist": dict(
        preset="gulrajani-mnist", shape=(1, 28, 28),
        generator=[linear(128, 4096), deconv(256, 128, 5), deconv(128, 64, 5), deconv(64, 1, 5)],
        generator_count=(1_554_177, 0),
        discriminator=[conv(1, 64, 5), conv(64, 128, 5), conv(128, 256, 5), linear(4096, 1)],
        discriminator_count=(1_030_145, 0)),
    # Gulrajani et al., gan_toy.py: three ReLU layers of 512 and a linear output, z in R^2.
    "gulrajani-toy": dict(
        preset="gulrajani-toy", shape=(2,),
        generator=[linear(2, 512), linear(512, 512), linear(512, 512), linear(512, 2)],
        generator_count=(527_874, 0),
        discriminator=[linear(2, 512), linear(512, 512), linear(512, 512), linear(512, 1)],
        discriminator_count=(527_361, 0)),
    # The DTU study's repository, DemonstrationNotebook.ipynb "Simple Distributions": latent 10, hidden 16, the
    # generator's Linear(bias=False) + BatchNorm1d + ReLU four times, the discriminator's three ReLU layers.
    "dtu-toy": dict(
        preset="dtu-gan", shape=(2,), overrides=("data=moons",),
        generator=[linear(10, 16, False), bn(16), linear(16, 16, False), bn(16), linear(16, 16, False), bn(16),
                   linear(16, 16, False), bn(16), linear(16, 2)],
        generator_count=(1_090, 128),
        discriminator=[linear(2, 16), linear(16, 16), linear(16, 16), linear(16, 1)],
        discriminator_count=(609, 0)),
    # Arjovsky et al., models/dcgan.py (DCGAN_G / DCGAN_D, isize 64, nz 100, ngf = ndf = 64, no extra layers).
    "arjovsky-dcgan64": dict(
        preset="arjovsky-wgan", shape=(3, 64, 64),
        generator=[deconv(100, 512, 4, False), bn(512), deconv(512, 256, 4, False), bn(256),
                   deconv(256, 128, 4, False), bn(128), deconv(128, 64, 4, False), bn(64), deconv(64, 3, 4, False)],
        generator_count=(3_576_704, 1_920),
        discriminator=[conv(3, 64, 4, False), conv(64, 128, 4, False), bn(128), conv(128, 256, 4, False), bn(256),
                       conv(256, 512, 4, False), bn(512), conv(512, 1, 4, False)],
        discriminator_count=(2_765_568, 1_792)),
    # The practical guide (Garrido et al.), §3.1.7's tables at kernel 5 on 32x32x3. The tables do not say
    # whether the first batch norm acts before or after the reshape; we normalize the 256 channels after it.
    "guide-dcgan": dict(
        preset="guide-dcgan", shape=(3, 32, 32),
        generator=[linear(100, 4096), bn(256), deconv(256, 256, 5), bn(256), deconv(256, 128, 5), bn(128),
                   deconv(128, 64, 5), bn(64), deconv(64, 3, 5)],
        generator_count=(3_082_755, 1_408),
        discriminator=[conv(3, 64, 5), bn(64), conv(64, 128, 5), bn(128), conv(128, 256, 5), bn(256),
                       conv(256, 1, 4)],
        discriminator_count=(1_034_241, 896)),
    # Gulrajani et al., gan_cifar_resnet.py unconditional (DIM_G = DIM_D = 128, NORMALIZATION_D = False).
    "gulrajani-resnet": dict(
        preset="wgan-gp-resnet", shape=(3, 32, 32),
        generator=[linear(128, 2048), *gen_block(128, 128), *gen_block(128, 128), *gen_block(128, 128), bn(128),
                   conv(128, 3, 3)],
        generator_count=(1_204_483, 1_792),
        discriminator=gulrajani_cifar_critic(128, 128),
        discriminator_count=(1_053_825, 0)),
    # Miyato et al. 2018, Appendix B Table 4 (sngan_projection's resnet_32 / snresnet_32): G 256, D 128 channels.
    "sngan-resnet": dict(
        preset="sngan", shape=(3, 32, 32),
        generator=[linear(128, 4096), *gen_block(256, 256), *gen_block(256, 256), *gen_block(256, 256), bn(256),
                   conv(256, 3, 3)],
        generator_count=(4_276_739, 3_584),
        discriminator=gulrajani_cifar_critic(128, 128),
        discriminator_count=(1_053_825, 0)),
    # The same at 64 px (Mimicry's sngan_64, after sngan_projection): ngf = ndf = 1024.
    "sngan-resnet-64": dict(
        preset="sngan", shape=(3, 64, 64),
        generator=[linear(128, 16384), *gen_block(1024, 512), *gen_block(512, 256), *gen_block(256, 128),
                   *gen_block(128, 64), bn(64), conv(64, 3, 3)],
        generator_count=(12_220_675, 5_888),
        discriminator=[*critic_block(3, 64, True, first=True), *critic_block(64, 128, True),
                       *critic_block(128, 256, True), *critic_block(256, 512, True), *critic_block(512, 1024, True),
                       linear(1024, 1)],
        discriminator_count=(10_141_441, 0)),
}


def dtu_generator(size: int) -> list[Layer]:
    nch = 12
    if size == 28:
        return [deconv(100, 48, 4, False), bn(48), deconv(48, 24, 3, False), bn(24), deconv(24, 12, 4, False),
                bn(12), deconv(12, 1, 4)]
    return [deconv(100, 16 * nch, 4, False), bn(16 * nch), deconv(16 * nch, 8 * nch, 4, False), bn(8 * nch),
            deconv(8 * nch, 4 * nch, 4, False), bn(4 * nch), deconv(4 * nch, 3, 4, False)]


# The DTU study (Gribsvad & Bundgaard-Nielsen), models_file.py with nch 12, as this package's docstring reads
# it; their repository is not reachable from here, so these counts come from that layer list.
SOURCES["dtu-dcgan"] = dict(
    preset="dtu-gan", shape=(1, 28, 28), generator=dtu_generator(28), generator_count=(92_137, 168),
    discriminator=[conv(1, 12, 4), conv(12, 24, 4, False), bn(24), conv(24, 24, 3, False), bn(24), conv(24, 1, 4)],
    discriminator_count=(10_477, 96))
SOURCES["dtu-dcgan-32"] = dict(
    preset="dtu-gan", shape=(3, 32, 32), generator=dtu_generator(32), generator_count=(678_816, 672),
    discriminator=[conv(3, 48, 4, False), conv(48, 96, 4, False), bn(96), conv(96, 96, 4, False), bn(96),
                   conv(96, 1, 4)],
    discriminator_count=(225_409, 384))


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_named_network_matches_its_source(name):
    source = SOURCES[name]
    arch = name.removesuffix("-64").removesuffix("-32")
    nets = build(f"model.arch={arch}", *source.get("overrides", ()), preset=source["preset"], shape=source["shape"])
    for role in ("generator", "discriminator"):
        network = getattr(nets, role)
        assert layers_of(network) == source[role], role
        assert counts(source[role]) == source[f"{role}_count"], f"{role}: the source's arithmetic"
        assert ours(network) == source[f"{role}_count"], role


def test_every_named_architecture_has_a_source():
    from wganlab.registry import ARCHITECTURES

    named = {n for n in ARCHITECTURES.names() if ARCHITECTURES.get(n).target and "nets.named" in
             ARCHITECTURES.get(n).target}
    assert named <= {n.removesuffix("-64").removesuffix("-32") for n in SOURCES}
