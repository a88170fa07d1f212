"""R1 and R2: zero-centred gradient penalties on real and on generated samples (Mescheder et al. 2018, eq. 9;
R3GAN, Huang et al. 2024, eq. 4), (γ/2) E‖∇ₓD(x)‖² with the squared L2 norm over all input dimensions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from wganlab.lipschitz.lazy import Lazy
from wganlab.lipschitz.penalty.hook import gradient_penalty_per_sample
from wganlab.training.hooks import CriticBatch, Hook, StepContext, Term

if TYPE_CHECKING:
    from wganlab.lipschitz.zero_centred.settings import ZeroCentredSettings
    from wganlab.sections import Facts


def squared_gradient_norm(context: StepContext, samples: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """E‖∇ₓD(x)‖² over ``samples`` (the critic's own uncompiled pass, for the double backward), one per seed of
    a stack."""
    points = samples.detach().requires_grad_(True)
    per_sample = gradient_penalty_per_sample(context.critic(points, labels, eager=True), points, target=0.0)
    return context.per_seed(per_sample).mean(-1)


class R1Penalty(Hook):
    """(γ/2) E‖∇D(x)‖² on the critic batch's real samples, logged as ``r1``; lazy with ``lipschitz.every``."""

    name = "r1"
    on_real = True

    def __init__(self, gamma: float, every: int = 1) -> None:
        self.gamma = gamma
        self.lazy = Lazy(every)

    @classmethod
    def from_settings(cls, settings: ZeroCentredSettings, facts: Facts, context: StepContext) -> Hook | None:
        gamma = settings.r1 if cls.on_real else settings.r2
        return cls(gamma, facts.penalty_every) if gamma > 0 else None

    def critic_terms(self, batch: CriticBatch, context: StepContext) -> list[Term]:
        if batch.real is None or not self.lazy.due():  # experience replay's step on fakes alone: none
            return []
        samples, labels = (batch.real, batch.real_labels) if self.on_real else (batch.fake, batch.fake_labels)
        penalty = squared_gradient_norm(context, samples, labels)
        return [Term(self.name, penalty, self.lazy.weight(self.gamma / 2))]

    def state_dict(self) -> dict[str, Any]:
        return self.lazy.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lazy.load_state_dict(state)


class R2Penalty(R1Penalty):
    """(γ/2) E‖∇D(G(z))‖² on the critic batch's fakes, logged as ``r2`` (R3GAN's second penalty)."""

    name = "r2"
    on_real = False
