"""The gradient penalty (Gulrajani et al. 2017, eq. 3) and its one-sided form (Petzka et al. 2018)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from wganlab.lipschitz.lazy import Lazy
from wganlab.precision import at_least_float32
from wganlab.training.hooks import CriticBatch, Hook, StepContext, Term
from wganlab.tricks.minibatch.layer import MinibatchDiscrimination

if TYPE_CHECKING:
    from wganlab.lipschitz.penalty.settings import GradientPenaltySettings
    from wganlab.sections import Facts


def interpolation_weights(n: int, like: torch.Tensor) -> torch.Tensor:
    """n draws of α ~ U[0, 1], shaped to broadcast over one sample of ``like``."""
    return torch.rand((n,) + (1,) * (like.dim() - 1), device=like.device, dtype=like.dtype)


def interpolate(real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor | None = None) -> torch.Tensor:
    """x̂ = αx + (1 − α)x̃ with one α ~ U[0, 1] **per sample**, broadcast over all other dimensions."""
    if alpha is None:
        alpha = interpolation_weights(real.shape[0], real)
    return torch.lerp(fake, real, alpha)


def gradient_penalty_per_sample(outputs: torch.Tensor, points: torch.Tensor, target: float = 1.0,
                                one_sided: bool = False) -> torch.Tensor:
    """(‖∇ₓD(x̂)‖₂ − target)² for each sample, with the L2 norm over all its input dimensions (Gulrajani et al.,
    eq. 3), or max(0, ‖∇‖ − target)² when one-sided (their appendix; Petzka et al. 2018). The penalty is their
    mean over a seed's batch.

    ``points`` must require grad and ``outputs`` must be the critic's outputs on them.
    """
    (grad,) = torch.autograd.grad(outputs.sum(), points, create_graph=True)
    grad = at_least_float32(grad.flatten(1))  # float32 even when the critic ran under bf16 autocast
    if target == 0:  # zero-centred: ‖∇‖² directly, whose gradient exists where ∇ = 0 (the norm's does not)
        return grad.square().sum(1)
    norm = grad.norm(2, dim=1)
    excess = norm - target
    if one_sided:
        excess = excess.clamp_min(0)
    return excess.square()


def gradient_penalty_from_outputs(outputs: torch.Tensor, points: torch.Tensor, target: float = 1.0,
                                  one_sided: bool = False) -> torch.Tensor:
    """E[(‖∇ₓD(x̂)‖₂ − target)²] over the batch (:func:`gradient_penalty_per_sample`, averaged)."""
    return gradient_penalty_per_sample(outputs, points, target, one_sided).mean()


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     target: float = 1.0, one_sided: bool = False, alpha: torch.Tensor | None = None) -> torch.Tensor:
    """The penalty at interpolates between ``real`` and ``fake`` (un-weighted: multiply by λ), with fresh
    weights unless ``alpha`` gives them."""
    points = interpolate(real.detach(), fake.detach(), alpha).requires_grad_(True)
    return gradient_penalty_from_outputs(critic(points), points, target, one_sided)


class GradientPenalty(Hook):
    """λ · the penalty at interpolates of each critic batch, logged as ``gradient_penalty`` (before λ).

    The interpolation weights are drawn for the global batch and sliced per process, so torchrun trains what
    one process would; a conditional critic scores the interpolates with the real samples' labels. The penalty
    has its own critic pass: inside the joint real-and-fake pass its double backward would run over all samples.
    """

    name = "gradient-penalty"

    def __init__(self, weight: float, target: float = 1.0, one_sided: bool = False, every: int = 1) -> None:
        self.weight, self.target, self.one_sided = weight, target, one_sided
        self.lazy = Lazy(every)

    @classmethod
    def from_settings(cls, settings: GradientPenaltySettings, facts: Facts,
                      context: StepContext) -> GradientPenalty | None:
        gp = settings.gradient_penalty
        return cls(gp.weight, gp.target, gp.one_sided, facts.penalty_every) if gp.weight > 0 else None

    def critic_terms(self, batch: CriticBatch, context: StepContext) -> list[Term]:
        if batch.real is None or not self.lazy.due():  # a step on fakes alone has no interpolates
            return []
        real = batch.real
        alpha = context.shard(len(real), lambda m: interpolation_weights(m, real))
        points = interpolate(real.detach(), batch.fake.detach(), alpha).requires_grad_(True)
        per_sample = gradient_penalty_per_sample(context.critic(points, batch.real_labels, eager=True), points,
                                                 self.target, self.one_sided)
        penalty = context.per_seed(per_sample).mean(-1)  # one penalty per seed of a stack (wganlab.stacking)
        return [Term("gradient_penalty", penalty, self.lazy.weight(self.weight))]

    def state_dict(self) -> dict[str, Any]:
        return self.lazy.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lazy.load_state_dict(state)


def has_batch_coupling(network: nn.Module) -> bool:
    """True when a sample's output depends on the other samples in its batch (batch norm, minibatch
    discrimination); virtual batch norm does not couple them. Such a critic scores real and fake batches in
    separate passes, and the gradient penalty's interpolates in a third."""
    return any(isinstance(m, (nn.modules.batchnorm._BatchNorm, MinibatchDiscrimination)) for m in network.modules())
