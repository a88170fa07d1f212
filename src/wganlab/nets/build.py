"""Build the generator and discriminator a config names, initialised, with spectral norm where asked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import torch
from torch import nn

from wganlab.config import ModelConfig, RunConfig
from wganlab.errors import ConfigError
from wganlab.lipschitz.spectral.norm import apply_spectral_norm
from wganlab.nets.dcgan import SIZES as DCGAN_SIZES
from wganlab.nets.dcgan import dcgan_discriminator, dcgan_generator
from wganlab.nets.heads import ConditionalGenerator, HeadedDiscriminator, split_body
from wganlab.nets.init import init_weights
from wganlab.nets.layers import label_free, output_activation
from wganlab.nets.mlp import mlp_discriminator, mlp_generator
from wganlab.registry import ARCHITECTURES
from wganlab.tricks.vbn import WithReference, swap_batch_norm


@dataclass
class Networks:
    generator: nn.Module
    discriminator: nn.Module
    latent_dim: int
    num_classes: int = 0  # > 0: both networks take class labels as a second argument


@contextmanager
def eval_mode(network: nn.Module) -> Iterator[nn.Module]:
    """The block runs ``network`` in eval mode (batch norm on running statistics, no dropout); its mode is
    restored afterwards, so evaluating or drawing pictures mid-training leaves training untouched."""
    was_training = network.training
    network.eval()
    try:
        yield network
    finally:
        network.train(was_training)


def generate_chunks(generator: torch.nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None,
                    batch_size: int = 1000) -> Iterator[torch.Tensor]:
    """``generator(z, labels)`` chunk by chunk, each chunk moved to the generator's device, outputs left there."""
    device = next(generator.parameters()).device
    for i in range(0, len(z), batch_size):
        part = None if labels is None else labels[i : i + batch_size].to(device)
        yield generator(z[i : i + batch_size].to(device), part)


@dataclass
class Build:
    """The networks as the build steps have left them so far, and what the steps need to know."""

    config: RunConfig
    sample_shape: tuple[int, ...]
    num_classes: int  # > 0 only when conditional
    reference: tuple[torch.Tensor, torch.Tensor | None] | None
    generator: nn.Module
    discriminator: nn.Module
    latent_dim: int
    init: str


def _condition(build: Build) -> None:
    """The generator takes one-hot classes beside z (the discriminator's conditioning is part of its head)."""
    if build.num_classes:
        build.generator = ConditionalGenerator(build.generator, build.num_classes)


def _head(build: Build) -> None:
    """The discriminator's conditioning, dense layer and minibatch features around its body (nets.heads)."""
    config = build.config
    if config.headed_discriminator:
        minibatch = config.network_part("minibatch-discrimination").minibatch
        build.discriminator = HeadedDiscriminator(
            split_body(build.discriminator), build.sample_shape, build.num_classes, config.conditioning.mode,
            config.model.d_dense, minibatch.kernels, minibatch.kernel_dim, minibatch.dense_after,
            config.model.leaky_slope)


def _init(build: Build) -> None:
    """Initialised *before* spectral norm, so the N(0, 0.02) draw reaches the raw weight that spectral norm
    divides (the DTU study's code lost it; see :mod:`wganlab.nets.init`)."""
    init_weights(build.generator, build.init)
    init_weights(build.discriminator, build.init)


def _spectral_norm(build: Build) -> None:
    if build.config.network_part("spectral-norm").spectral_norm:
        apply_spectral_norm(build.discriminator)


def _virtual_batch_norm(build: Build) -> None:
    """Batch norms swapped for virtual ones, each network wrapped with its fixed reference batch (tricks.vbn)."""
    model, conditional = build.config.model, build.num_classes > 0
    fixed = build.config.conditioning.vbn_reference == "fixed"
    size = model.reference_batch
    if model.g_norm in VIRTUAL:
        swap_batch_norm(build.generator, model.g_norm)
        rng = torch.Generator().manual_seed(build.config.seed + 5)
        labels = torch.arange(size) % build.num_classes if conditional else None
        build.generator = WithReference(build.generator, torch.randn(size, build.latent_dim, generator=rng), labels,
                                        not fixed)
    if model.d_norm in VIRTUAL:
        swap_batch_norm(build.discriminator, model.d_norm)
        images, labels = build.reference if build.reference is not None else \
            (torch.zeros(size, *build.sample_shape), None)
        if conditional and labels is None:
            labels = torch.arange(len(images)) % build.num_classes
        build.discriminator = WithReference(build.discriminator, images, labels if conditional else None, not fixed)


# The build after the plain networks, in order; the order fixes the random draws, so a seed builds the same nets.
BUILD_STEPS = (("condition", _condition), ("head", _head), ("init", _init), ("spectral norm", _spectral_norm),
               ("virtual batch norm", _virtual_batch_norm))
VIRTUAL = ("virtual", "reference")


def check_image_size(config: RunConfig) -> None:
    """Refuse, before any data is loaded or decoded, an image size the configurable DCGAN family cannot build
    (the named architectures check their own sizes when built)."""
    size = config.data.image_size
    if size is not None and not config.is_vectors and config.model.arch in ("auto", "dcgan") \
            and size not in DCGAN_SIZES:
        raise ConfigError(f"data.image_size={size}: the DCGAN family takes {', '.join(map(str, DCGAN_SIZES))} px; "
                          "choose one of them (or model.arch=mlp)")


def build_networks(config: RunConfig, sample_shape: tuple[int, ...], num_classes: int = 0,
                   reference: tuple[torch.Tensor, torch.Tensor | None] | None = None) -> Networks:
    """Networks for samples of ``sample_shape`` ((2,) for toys, (C, H, W) for images), on the CPU.

    The plain networks of ``model.arch``, then :data:`BUILD_STEPS`. Every network is called the same way,
    ``G(z, y=None)`` and ``D(x, y=None)`` (and a composable discriminator's ``D.features(x, y, layer)``), so no
    caller asks whether it is conditional. ``reference`` is the discriminator's virtual-batch-norm reference
    batch (images, labels); without it a placeholder is used, to be overwritten by a checkpoint.
    """
    model, conditioning = config.model, config.conditioning.mode
    conditional = conditioning != "none"
    if conditional and num_classes < 2:
        raise ConfigError(f"conditioning.mode={conditioning} needs labelled data with at least 2 classes; "
                          f"data={config.data.name} has none: use a labelled dataset or conditioning.mode=none")
    classes = num_classes if conditional else 0
    plain = replace(model, g_norm="batch" if model.g_norm in VIRTUAL else model.g_norm,
                    d_norm="batch" if model.d_norm in VIRTUAL else model.d_norm,
                    latent_dim=model.latent_dim + classes)
    d_shape = sample_shape
    if conditioning == "channels":  # labels as constant input channels (features, for 2D toys)
        d_shape = (sample_shape[0] + num_classes, *sample_shape[1:])
    generator, discriminator, latent_dim, init = _plain_networks(plain, config, sample_shape, d_shape)
    build = Build(config, sample_shape, classes, reference, label_free(generator), label_free(discriminator),
                  latent_dim - classes, init)
    for _name, step in BUILD_STEPS:
        step(build)
    return Networks(build.generator, build.discriminator, build.latent_dim, classes)


def _plain_networks(model: ModelConfig, config: RunConfig, g_shape: tuple[int, ...],
                    d_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module, int, str]:
    pixel_range = config.data.pixel_range
    arch = model.arch
    if arch == "auto":
        arch = "mlp" if len(g_shape) == 1 else "dcgan"
    if ARCHITECTURES.get(arch).target is not None:  # a registered builder: a study's exact networks, the ResNets
        build = ARCHITECTURES.load(arch)
        generator, discriminator, latent_dim, init = build(model, g_shape, pixel_range)
        if d_shape != g_shape:  # label channels widen the discriminator's input only
            discriminator = build(model, d_shape, pixel_range)[1]
        return generator, discriminator, latent_dim, init
    if arch == "mlp":
        out_act = output_activation(pixel_range) if len(g_shape) > 1 else None
        generator = mlp_generator(model.latent_dim, g_shape, model.width, model.mlp_depth,
                                  model.g_activation, out_act, model.leaky_slope)
        discriminator = mlp_discriminator(d_shape, model.width, model.mlp_depth, model.d_activation,
                                          model.leaky_slope)
        return generator, discriminator, model.latent_dim, model.init
    return (dcgan_generator(model, g_shape, pixel_range), dcgan_discriminator(model, d_shape), model.latent_dim,
            model.init)
