"""Ways to keep a WGAN critic (approximately) 1-Lipschitz: weight clipping, gradient penalty, spectral norm."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm

_WEIGHTED = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


@torch.no_grad()
def clip_weights_(critic: nn.Module, clip: float) -> None:
    """Clamp every critic parameter into [−c, c] (Arjovsky et al. 2017, Algorithm 1, line 7).

    Called after each critic update, so the critic the generator sees is always inside the constraint set
    (seed 000 clamped between ``backward`` and ``step``, letting Adam push weights back out).
    """
    params = [p for p in critic.parameters()]
    torch._foreach_clamp_min_(params, -clip)
    torch._foreach_clamp_max_(params, clip)


class FullPrecisionSpectralNorm(_SpectralNorm):
    """torch's spectral norm with its power iteration and σ in float32 even inside autocast.

    On GPUs autocast runs ``torch.mv`` in bf16 (about 3 significant digits), which would make σ — and so the
    scale of every critic layer — noisy from step to step. Same parameters, buffers and state-dict keys as
    torch's parametrization; only ``forward`` differs.
    """

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        with torch.autocast(weight.device.type, enabled=False):
            return super().forward(weight.float()).to(weight.dtype)


def apply_spectral_norm(critic: nn.Module) -> None:
    """Wrap every linear and conv layer in spectral normalization (Miyato et al. 2018), in place."""
    for module in list(critic.modules()):
        if isinstance(module, _WEIGHTED) and not hasattr(module, "parametrizations"):
            dim = 1 if isinstance(module, nn.ConvTranspose2d) else 0  # the output dimension, as torch picks it
            parametrize.register_parametrization(module, "weight", FullPrecisionSpectralNorm(module.weight, dim=dim))


def interpolation_weights(n: int, like: torch.Tensor) -> torch.Tensor:
    """n draws of α ~ U[0, 1], shaped to broadcast over one sample of ``like``."""
    return torch.rand((n,) + (1,) * (like.dim() - 1), device=like.device, dtype=like.dtype)


def interpolate(real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor | None = None) -> torch.Tensor:
    """x̂ = αx + (1 − α)x̃ with one α ~ U[0, 1] **per sample**, broadcast over all other dimensions."""
    if alpha is None:
        alpha = interpolation_weights(real.shape[0], real)
    return torch.lerp(fake, real, alpha)


def gradient_penalty_from_outputs(outputs: torch.Tensor, points: torch.Tensor, target: float = 1.0,
                                  one_sided: bool = False) -> torch.Tensor:
    """E[(‖∇ₓD(x̂)‖₂ − target)²] with the L2 norm over all input dimensions of each sample (Gulrajani et al.,
    eq. 3), or E[max(0, ‖∇‖ − target)²] when one-sided (their appendix; Petzka et al. 2018).

    ``points`` must require grad and ``outputs`` must be the critic's outputs on them.
    """
    (grad,) = torch.autograd.grad(outputs.sum(), points, create_graph=True)
    norm = grad.flatten(1).float().norm(2, dim=1)  # float32 even when the critic ran under bf16 autocast
    excess = norm - target
    if one_sided:
        excess = excess.clamp_min(0)
    return excess.square().mean()


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     target: float = 1.0, one_sided: bool = False, alpha: torch.Tensor | None = None) -> torch.Tensor:
    """The penalty at interpolates between ``real`` and ``fake`` (un-weighted: multiply by λ), with fresh
    weights unless ``alpha`` gives them."""
    points = interpolate(real.detach(), fake.detach(), alpha).requires_grad_(True)
    return gradient_penalty_from_outputs(critic(points), points, target, one_sided)


def has_batch_coupling(network: nn.Module) -> bool:
    """True when a sample's output depends on the other samples in its batch (batch norm, minibatch
    discrimination); virtual batch norm does not couple them."""
    from wganlab.tricks.minibatch import MinibatchDiscrimination

    return any(isinstance(m, (nn.modules.batchnorm._BatchNorm, MinibatchDiscrimination)) for m in network.modules())
