"""The studies' networks, layer for layer, chosen with ``arch=NAME``.

Each builder returns ``(generator, discriminator, latent_dim, init_scheme)``: a named architecture fixes its own
latent size and initialisation because they are part of what is being reproduced. Discriminators output raw
scores; a GAN's sigmoid lives in the loss (``BCEWithLogits``), which is the same function, computed stably.
"""

from __future__ import annotations

from torch import nn

from wganlab.config import ModelConfig
from wganlab.errors import ConfigError
from wganlab.nets.layers import (
    Crop,
    Reshape,
    norm2d,
    output_activation,
    tf_same_conv,
    tf_same_conv_transpose,
)
from wganlab.nets.mlp import mlp_discriminator, mlp_generator
from wganlab.nets.resnet import resnet_critic, resnet_generator

Built = tuple[nn.Module, nn.Module, int, str]
Shape = tuple[int, ...]


def _require(name: str, shape: Shape, sizes: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) != 3 or shape[1] not in sizes:
        wanted = " or ".join(f"{s}x{s}" for s in sizes)
        got = "2D points" if len(shape) == 1 else f"{shape[1]}x{shape[2]} images"
        raise ConfigError(f"arch={name} needs {wanted} images but the data are {got}; pick another arch")
    return shape[0], shape[1]


def dtu_dcgan(model: ModelConfig, shape: Shape, pixel_range: str) -> Built:
    """The DTU study's ``models_file.py`` (Gribsvad & Bundgaard-Nielsen; latent 100, nch 12): MNIST at 28 px,
    CIFAR-10 at 32, CelebA at 64.

    Critic normalization follows ``model.d_norm``: the study used batch norm, and full-shape LayerNorm for its
    spectral-norm critic (preset ``dtu-wgan-sn``).
    """
    channels, size = _require("dtu-dcgan", shape, (28, 32, 64))
    nch, latent = 12, 100

    def dnorm(ch: int, spatial: int) -> nn.Module:
        return nn.LayerNorm([ch, spatial, spatial]) if model.d_norm == "layer" else nn.BatchNorm2d(ch)

    def up(i: int, o: int, k: int, s: int, p: int, bias: bool = False) -> list[nn.Module]:
        return [nn.ConvTranspose2d(i, o, k, s, p, bias=bias), nn.BatchNorm2d(o), nn.ReLU()]

    def down(i: int, o: int, k: int, spatial: int, bias: bool = False) -> list[nn.Module]:
        return [nn.Conv2d(i, o, k, 2, 1, bias=bias), dnorm(o, spatial), nn.ReLU()]

    if size == 28:
        g = [*up(latent, 4 * nch, 4, 2, 0), *up(4 * nch, 2 * nch, 3, 2, 1), *up(2 * nch, nch, 4, 2, 1),
             nn.ConvTranspose2d(nch, channels, 4, 2, 1)]
        d = [nn.Conv2d(channels, nch, 4, 2, 1), nn.ReLU(), *down(nch, 2 * nch, 4, 7),
             *down(2 * nch, 2 * nch, 3, 4), nn.Conv2d(2 * nch, 1, 4, 2, 0)]
    elif size == 32:
        g = [*up(latent, 16 * nch, 4, 1, 0), *up(16 * nch, 8 * nch, 4, 2, 1), *up(8 * nch, 4 * nch, 4, 2, 1),
             nn.ConvTranspose2d(4 * nch, channels, 4, 2, 1, bias=False)]
        d = [nn.Conv2d(channels, 4 * nch, 4, 2, 1, bias=False), nn.ReLU(), *down(4 * nch, 8 * nch, 4, 8),
             *down(8 * nch, 8 * nch, 4, 4), nn.Conv2d(8 * nch, 1, 4, 1, 0)]
    else:
        g = [*up(latent, 16 * nch, 4, 1, 0), *up(16 * nch, 8 * nch, 4, 2, 1), *up(8 * nch, 4 * nch, 4, 2, 1),
             *up(4 * nch, 2 * nch, 4, 2, 1), nn.ConvTranspose2d(2 * nch, channels, 4, 2, 1)]
        d = [nn.Conv2d(channels, 2 * nch, 4, 2, 1, bias=False), nn.ReLU(), *down(2 * nch, 4 * nch, 4, 16),
             *down(4 * nch, 8 * nch, 4, 8), *down(8 * nch, 8 * nch, 4, 4), nn.Conv2d(8 * nch, 1, 4, 1, 0)]
    generator = nn.Sequential(Reshape(latent, 1, 1), *g, output_activation(pixel_range))
    return generator, nn.Sequential(*d, nn.Flatten()), latent, "dcgan"


def guide_dcgan(model: ModelConfig, shape: Shape, pixel_range: str) -> Built:
    """Seed 001 §3.1.7 (Keras, kernel ``model.kernel_size``, default 5 in its preset): dense 256x4x4, transposed
    convs 256/128/64 with batch norm and ReLU, a stride-1 output conv; critic convs 64/128/256 with batch norm and
    LeakyReLU(0.2), then a 4x4 valid conv. At 28 px the 8x8 map is cropped to 7x7 (the same rule as the family)."""
    channels, size = _require("guide-dcgan", shape, (28, 32))
    k, latent = model.kernel_size, model.latent_dim
    g: list[nn.Module] = [nn.Linear(latent, 256 * 16), Reshape(256, 4, 4), nn.BatchNorm2d(256), nn.ReLU()]
    spatial, in_ch = 4, 256
    for out_ch in (256, 128, 64):
        g.append(tf_same_conv_transpose(in_ch, out_ch, k, 2, spatial))
        spatial *= 2
        if spatial == 8 and size == 28:
            g.append(Crop(0, 7))
            spatial = 7
        g += [nn.BatchNorm2d(out_ch), nn.ReLU()]
        in_ch = out_ch
    g += [tf_same_conv_transpose(64, channels, k, 1, size), output_activation(pixel_range)]
    d: list[nn.Module] = []
    spatial, in_ch = size, channels
    for out_ch in (64, 128, 256):
        d += [tf_same_conv(in_ch, out_ch, k, 2, spatial), norm2d(model.d_norm, out_ch), nn.LeakyReLU(0.2)]
        spatial, in_ch = -(-spatial // 2), out_ch
    d += [nn.Conv2d(256, 1, spatial), nn.Flatten()]
    return nn.Sequential(*g), nn.Sequential(*d), latent, "keras"


def tf_tutorial(model: ModelConfig, shape: Shape, pixel_range: str) -> Built:
    """The TensorFlow DCGAN tutorial used by the MNIST blog (28x28, z 100): dense 7x7x256 without bias, batch
    norm over its 12,544 outputs *before* the reshape (as the tutorial's ``BatchNormalization()`` after ``Dense``),
    transposed convs 128 (s1), 64, 1 (s2), all k5 'same' without bias, Keras batch norm (momentum 0.99, eps 1e-3),
    LeakyReLU(0.3); discriminator convs 64/128 k5 s2 with LeakyReLU(0.3) and Dropout(0.3), then a dense output.
    Keras's ``summary()`` counts 2,330,944 generator parameters (25,472 of them the moving statistics) and 212,865
    discriminator parameters; ``tests/nets/test_fidelity.py`` checks both."""
    channels, _ = _require("tf-tutorial", shape, (28,))
    latent = 100

    def bn(ch: int) -> nn.Module:
        return nn.BatchNorm2d(ch, eps=1e-3, momentum=0.01)

    g = nn.Sequential(
        nn.Linear(latent, 7 * 7 * 256, bias=False), nn.BatchNorm1d(7 * 7 * 256, eps=1e-3, momentum=0.01),
        nn.LeakyReLU(0.3), Reshape(256, 7, 7),
        tf_same_conv_transpose(256, 128, 5, 1, 7, bias=False), bn(128), nn.LeakyReLU(0.3),
        tf_same_conv_transpose(128, 64, 5, 2, 7, bias=False), bn(64), nn.LeakyReLU(0.3),
        tf_same_conv_transpose(64, channels, 5, 2, 14, bias=False), output_activation(pixel_range),
    )  # fmt: skip
    d = nn.Sequential(
        tf_same_conv(channels, 64, 5, 2, 28), nn.LeakyReLU(0.3), nn.Dropout(0.3),
        tf_same_conv(64, 128, 5, 2, 14), nn.LeakyReLU(0.3), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1),
    )  # fmt: skip
    return g, d, latent, "keras"


def gulrajani_toy(model: ModelConfig, shape: Shape, pixel_range: str) -> Built:
    """``gan_toy.py``: z in R^2, generator and critic are 3x512 ReLU MLPs with linear outputs."""
    del model, pixel_range
    if shape != (2,):
        raise ConfigError("arch=gulrajani-toy is for 2D toy data; pick a toy dataset such as data=8gaussians")
    g = mlp_generator(2, shape, 512, 3, "relu")
    return g, mlp_discriminator(shape, 512, 3, "relu"), 2, "pytorch"


def dtu_toy(model: ModelConfig, shape: Shape, pixel_range: str) -> Built:
    """The DTU study's toy networks (its repository's DemonstrationNotebook.ipynb, "Simple Distributions"): z in
    R^10; the generator 4 hidden layers of 16 units, each Linear without bias, BatchNorm1d and ReLU, then a
    linear output; the discriminator 3 hidden ReLU layers of 16 and one output (its sigmoid is in the loss)."""
    del model, pixel_range
    if shape != (2,):
        raise ConfigError("arch=dtu-toy is for 2D toy data; pick a toy dataset such as data=moons")
    width, latent = 16, 10
    layers: list[nn.Module] = []
    for dim in (latent, width, width, width):
        layers += [nn.Linear(dim, width, bias=False), nn.BatchNorm1d(width), nn.ReLU()]
    generator = nn.Sequential(*layers, nn.Linear(width, 2))
    return generator, mlp_discriminator(shape, width, 3, "relu"), latent, "pytorch"


def gulrajani_mnist(model: ModelConfig, shape: Shape, pixel_range: str) -> Built:
    """``gan_mnist.py`` (WGAN-GP mode, DIM 64, z 128): linear to 4x4x256, deconvs k5 to 8 (cropped to 7), 14, 28,
    sigmoid output (use ``data.pixel_range=unit`` as the preset does); critic convs k5 s2 64/128/256 with
    LeakyReLU(0.2) and no normalization, then a linear output."""
    del model
    channels, _ = _require("gulrajani-mnist", shape, (28,))
    latent, dim = 128, 64
    g = nn.Sequential(
        nn.Linear(latent, 4 * 4 * 4 * dim), nn.ReLU(), Reshape(4 * dim, 4, 4),
        tf_same_conv_transpose(4 * dim, 2 * dim, 5, 2, 4), nn.ReLU(), Crop(0, 7),
        tf_same_conv_transpose(2 * dim, dim, 5, 2, 7), nn.ReLU(),
        tf_same_conv_transpose(dim, channels, 5, 2, 14), output_activation(pixel_range),
    )  # fmt: skip
    d = nn.Sequential(
        tf_same_conv(channels, dim, 5, 2, 28), nn.LeakyReLU(0.2),
        tf_same_conv(dim, 2 * dim, 5, 2, 14), nn.LeakyReLU(0.2),
        tf_same_conv(2 * dim, 4 * dim, 5, 2, 7), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(4 * 4 * 4 * dim, 1),
    )  # fmt: skip
    return g, d, latent, "pytorch"


def arjovsky_dcgan64(model: ModelConfig, shape: Shape, pixel_range: str) -> Built:
    """Arjovsky's ``models/dcgan.py`` at 64 px (nz 100, ngf = ndf = 64, k4 s2 p1, no biases)."""
    del model
    channels, _ = _require("arjovsky-dcgan64", shape, (64,))
    latent, f = 100, 64

    def g_block(i: int, o: int, s: int, p: int) -> list[nn.Module]:
        return [nn.ConvTranspose2d(i, o, 4, s, p, bias=False), nn.BatchNorm2d(o), nn.ReLU()]

    def d_block(i: int, o: int) -> list[nn.Module]:
        return [nn.Conv2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.LeakyReLU(0.2)]

    g = nn.Sequential(
        Reshape(latent, 1, 1), *g_block(latent, 8 * f, 1, 0), *g_block(8 * f, 4 * f, 2, 1),
        *g_block(4 * f, 2 * f, 2, 1), *g_block(2 * f, f, 2, 1),
        nn.ConvTranspose2d(f, channels, 4, 2, 1, bias=False), output_activation(pixel_range),
    )  # fmt: skip
    d = nn.Sequential(
        nn.Conv2d(channels, f, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        *d_block(f, 2 * f), *d_block(2 * f, 4 * f), *d_block(4 * f, 8 * f),
        nn.Conv2d(8 * f, 1, 4, 1, 0, bias=False), nn.Flatten(),
    )  # fmt: skip
    return g, d, latent, "dcgan"


def gulrajani_resnet(model: ModelConfig, shape: Shape, pixel_range: str) -> Built:
    """``gan_cifar_resnet.py`` unconditional (DIM_G = DIM_D = 128, z 128): a linear layer to 4x4x128, three
    upsampling residual blocks with batch norm, BN, ReLU, conv 3x3, tanh; the critic's optimized block, one
    downsampling and two plain blocks at 128 channels without normalization (NORMALIZATION_D = False), ReLU, mean
    over space and a linear output. 28-pixel images use the crop rule of :mod:`wganlab.nets.resnet`."""
    del model
    channels, size = _require("gulrajani-resnet", shape, (28, 32))
    latent, dim = 128, 128
    generator = resnet_generator(latent, channels, size, (dim,) * 4, "batch", pixel_range)
    return generator, resnet_critic(channels, size, (dim,) * 4, 2, "none", "mean"), latent, "resnet"


def sngan_resnet(model: ModelConfig, shape: Shape, pixel_range: str) -> Built:
    """Miyato et al. 2018's ResNets (Appendix B, Table 4; ``sngan_projection``'s ``resnet_32`` and
    ``snresnet_32``; the 64-pixel pair as Mimicry's ``sngan_64``), z 128. At 32 px: generator 256 channels in
    three upsampling blocks, critic 128 channels (optimized block, one downsampling, two plain blocks). At 64 px:
    generator 1024 → 512 → 256 → 128 → 64 over four blocks, critic 64 → 128 → 256 → 512 → 1024, every block
    downsampling. Batch norm in the generator, none in the critic (spectral norm is the preset's
    ``lipschitz.spectral_norm``), ReLU, a sum over space and a linear output."""
    del model
    channels, size = _require("sngan-resnet", shape, (28, 32, 64))
    latent = 128
    if size == 64:
        g_widths, d_widths, downsampling = (1024, 512, 256, 128, 64), (64, 128, 256, 512, 1024), 5
    else:
        g_widths, d_widths, downsampling = (256,) * 4, (128,) * 4, 2
    generator = resnet_generator(latent, channels, size, g_widths, "batch", pixel_range)
    return generator, resnet_critic(channels, size, d_widths, downsampling, "none", "sum"), latent, "resnet"
