"""The model and conditioning sections of a config and their rules: which networks suit which data, and which of
them take the parts composed around them (conditioning, a dense head, virtual batch norm). Read without torch."""

from __future__ import annotations

from dataclasses import dataclass

from wganlab.errors import ConfigError
from wganlab.registry import ARCHITECTURES
from wganlab.sections import Facts, option, require_composable

BATCH_NORM_WITH_REFERENCE = ("virtual", "reference")


@dataclass
class ModelConfig:
    """Generator and discriminator networks. ``arch`` picks a family or one of the studies' exact networks."""

    arch: str = option("auto", choices=ARCHITECTURES.names,
                       why="auto is an MLP for 2D toys and the DCGAN family for images")
    latent_dim: int = option(100, low=1)
    width: int = option(64, low=1, why="hidden units of an MLP, channels of the widest DCGAN layer / 4, or "
                        "channels of every ResNet block")
    mlp_depth: int = option(3, low=1, high=16)
    kernel_size: int = option(4, choices=(3, 4, 5, 7))
    upsample: str = option("transposed", choices=("transposed", "nearest"))
    downsample: str = option("strided", choices=("strided", "maxpool"))
    g_norm: str = option("batch", choices=("batch", "virtual", "reference", "none"),
                         why="virtual / reference: Salimans et al.'s batch norm against a fixed reference batch")
    d_norm: str = option("batch", choices=("batch", "layer", "instance", "virtual", "reference", "none"))
    reference_batch: int = option(64, low=2, why="size of the fixed reference batch of virtual/reference batch norm")
    d_dense: int = option(0, low=0, why="units of a dense layer after the discriminator's convolutions (the guide's "
                          "conditional D uses 256); 0: none")
    g_activation: str = option("relu", choices=("relu", "leaky_relu", "elu", "tanh"))
    d_activation: str = option("leaky_relu", choices=("relu", "leaky_relu", "elu", "tanh"))
    leaky_slope: float = option(0.2, low=0.0, high=1.0)
    init: str = option("dcgan", choices=("dcgan", "resnet", "pytorch"),
                       why="dcgan draws weights from N(0, 0.02) as Radford et al. do; resnet is Gulrajani et al.'s "
                       "and SNGAN's Xavier-uniform (gain √2 on residual convs)")


@dataclass
class ConditioningConfig:
    """Class-conditional models: the generator always gets the one-hot label concatenated to z."""

    mode: str = option("none", choices=("none", "concat", "channels", "projection"),
                       why="how the discriminator gets the label: concat to its dense layer after the convolutions "
                       "(guide §3.3), constant input channels (guide §5.5), or projection (Miyato & Koyama 2018)")
    vbn_reference: str = option("fixed", choices=("fixed", "current"),
                                why="labels of the virtual-batch-norm reference batch: fixed at the start (the "
                                "guide's choice) or the current batch's")


def check_model(model: ModelConfig, conditioning: ConditioningConfig, facts: Facts) -> None:
    """The network must suit the data, and only a composable family takes the parts built around it."""
    if facts.images and not ARCHITECTURES.can(model.arch, "images"):
        raise ConfigError(f"arch={model.arch} is a 2D toy network; pick an image arch such as dcgan")
    if not facts.images and not ARCHITECTURES.can(model.arch, "points"):
        choices = [name for name in ARCHITECTURES.having("points") if name != "auto"]
        kind = "a 2D toy" if facts.data_kind == "points" else "a feature table"
        raise ConfigError(f"arch={model.arch} is for images but data={facts.data} is {kind}; "
                          f"use arch={' or arch='.join(choices)}")
    if conditioning.mode != "none":
        require_composable(model.arch, f"conditioning.mode={conditioning.mode}")
    if model.d_dense:
        require_composable(model.arch, "model.d_dense")
    if model.g_norm in BATCH_NORM_WITH_REFERENCE or model.d_norm in BATCH_NORM_WITH_REFERENCE:
        require_composable(model.arch, "virtual / reference batch norm")
