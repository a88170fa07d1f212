"""Spectral normalization (Miyato et al. 2018): every critic layer divided by its largest singular value."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm

from wganlab.precision import at_least_float32

_WEIGHTED = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


class FullPrecisionSpectralNorm(_SpectralNorm):
    """torch's spectral norm with its power iteration and σ in float32 even inside autocast.

    On GPUs autocast runs ``torch.mv`` in bf16 (about 3 significant digits), which would make σ — and so the
    scale of every critic layer — noisy from step to step. A float64 critic keeps float64. Same parameters,
    buffers and state-dict keys as torch's parametrization; only ``forward`` differs.
    """

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        with torch.autocast(weight.device.type, enabled=False):
            return super().forward(at_least_float32(weight)).to(weight.dtype)


def apply_spectral_norm(critic: nn.Module) -> None:
    """Wrap every linear and conv layer in spectral normalization, in place (a step of the network build, not a
    hook: the normalized weight is part of the network)."""
    for module in list(critic.modules()):
        if isinstance(module, _WEIGHTED) and not hasattr(module, "parametrizations"):
            dim = 1 if isinstance(module, nn.ConvTranspose2d) else 0  # the output dimension, as torch picks it
            parametrize.register_parametrization(module, "weight", FullPrecisionSpectralNorm(module.weight, dim=dim))
