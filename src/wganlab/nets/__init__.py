"""Build the generator and discriminator a config names, initialised, with spectral norm where asked."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from wganlab.config import RunConfig
from wganlab.lipschitz import apply_spectral_norm
from wganlab.nets.dcgan import dcgan_discriminator, dcgan_generator
from wganlab.nets.init import init_weights
from wganlab.nets.layers import output_activation
from wganlab.nets.mlp import mlp_discriminator, mlp_generator
from wganlab.nets.named import NAMED


@dataclass
class Networks:
    generator: nn.Module
    discriminator: nn.Module
    latent_dim: int


def build_networks(config: RunConfig, sample_shape: tuple[int, ...]) -> Networks:
    """Networks for samples of ``sample_shape`` ((2,) for toys, (C, H, W) for images), on the CPU.

    Weights are initialised *before* spectral normalization is applied, so the N(0, 0.02) draw reaches the
    raw weight that spectral norm divides (seed 000's code lost it; see :mod:`wganlab.nets.init`).
    """
    model, pixel_range = config.model, config.data.pixel_range
    arch = model.arch
    if arch == "auto":
        arch = "mlp" if len(sample_shape) == 1 else "dcgan"
    if arch in NAMED:
        generator, discriminator, latent_dim, init = NAMED[arch](model, sample_shape, pixel_range)
    elif arch == "mlp":
        out_act = output_activation(pixel_range) if len(sample_shape) > 1 else None
        generator = mlp_generator(model.latent_dim, sample_shape, model.width, model.mlp_depth,
                                  model.g_activation, out_act, model.leaky_slope)
        discriminator = mlp_discriminator(sample_shape, model.width, model.mlp_depth, model.d_activation,
                                          model.leaky_slope)
        latent_dim, init = model.latent_dim, model.init
    else:
        generator = dcgan_generator(model, sample_shape, pixel_range)
        discriminator = dcgan_discriminator(model, sample_shape)
        latent_dim, init = model.latent_dim, model.init
    init_weights(generator, init)
    init_weights(discriminator, init)
    if config.lipschitz.spectral_norm:
        apply_spectral_norm(discriminator)
    return Networks(generator, discriminator, latent_dim)
