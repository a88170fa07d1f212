"""Ways to keep a WGAN critic (approximately) 1-Lipschitz, one module each: weight clipping and the gradient
penalty are hooks of the training step (:mod:`wganlab.training.hooks`), spectral normalization a step of the
network build.
"""

from __future__ import annotations

from torch import nn

from wganlab.lipschitz.clipping import WeightClipping, clip_weights_
from wganlab.lipschitz.penalty import (
    GradientPenalty,
    gradient_penalty,
    gradient_penalty_from_outputs,
    interpolate,
    interpolation_weights,
)
from wganlab.lipschitz.spectral import FullPrecisionSpectralNorm, apply_spectral_norm

__all__ = ["FullPrecisionSpectralNorm", "GradientPenalty", "WeightClipping", "apply_spectral_norm", "clip_weights_",
           "gradient_penalty", "gradient_penalty_from_outputs", "has_batch_coupling", "interpolate",
           "interpolation_weights"]


def has_batch_coupling(network: nn.Module) -> bool:
    """True when a sample's output depends on the other samples in its batch (batch norm, minibatch
    discrimination); virtual batch norm does not couple them. Such a critic scores real and fake batches in
    separate passes, and the gradient penalty's interpolates in a third."""
    from wganlab.tricks.minibatch import MinibatchDiscrimination

    return any(isinstance(m, (nn.modules.batchnorm._BatchNorm, MinibatchDiscrimination)) for m in network.modules())
