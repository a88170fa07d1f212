"""DRAGAN (Kodali et al. 2017, "On convergence and stability of GANs", eq. 9): the gradient penalty around the
real data, at points between x and a noisy copy x + δ, δ = c · std(x) · U[0, 1] (their code's perturbation)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from wganlab.lipschitz.lazy import Lazy
from wganlab.lipschitz.penalty.hook import gradient_penalty, interpolation_weights
from wganlab.training.hooks import CriticBatch, Hook, StepContext, Term

if TYPE_CHECKING:
    from wganlab.lipschitz.dragan.settings import DraganSettings
    from wganlab.sections import Facts


def perturbed(real: torch.Tensor, scale: float, noise: torch.Tensor) -> torch.Tensor:
    """x + c · std(x) · u with ``noise`` u ~ U[0, 1] of x's shape; std over the whole batch, as in their code."""
    return real + scale * real.std() * noise


class DraganPenalty(Hook):
    """λ E[(‖∇D(x̂)‖ − 1)²] at x̂ = x + α(x_p − x), logged as ``dragan``; lazy with ``lipschitz.every``."""

    name = "dragan"

    def __init__(self, weight: float, scale: float = 0.5, every: int = 1) -> None:
        self.weight, self.scale = weight, scale
        self.lazy = Lazy(every)

    @classmethod
    def from_settings(cls, settings: DraganSettings, facts: Facts, context: StepContext) -> DraganPenalty | None:
        dragan = settings.dragan
        return cls(dragan.weight, dragan.perturbation, facts.penalty_every) if dragan.weight > 0 else None

    def critic_terms(self, batch: CriticBatch, context: StepContext) -> list[Term]:
        if batch.real is None or not self.lazy.due():
            return []
        real = batch.real.detach()
        noise = context.shard(len(real), lambda m: torch.rand((m, *real.shape[1:]), device=real.device,
                                                              dtype=real.dtype))
        alpha = context.shard(len(real), lambda m: interpolation_weights(m, real))
        # gradient_penalty interpolates lerp(second, first, α) = second + α(first − second): x + α(x_p − x)
        penalty = gradient_penalty(lambda x: context.critic(x, batch.real_labels, eager=True),
                                   perturbed(real, self.scale, noise), real, alpha=alpha)
        return [Term("dragan", penalty, self.lazy.weight(self.weight))]

    def state_dict(self) -> dict[str, Any]:
        return self.lazy.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lazy.load_state_dict(state)
