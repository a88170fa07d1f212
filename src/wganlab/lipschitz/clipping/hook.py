"""Weight clipping (Arjovsky et al. 2017, Algorithm 1, line 7): every critic parameter clamped into [−c, c]."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from wganlab.training.hooks import CriticBatch, Hook, StepContext

if TYPE_CHECKING:
    from wganlab.lipschitz.clipping.settings import ClippingSettings
    from wganlab.sections import Facts


@torch.no_grad()
def clip_weights_(critic: nn.Module, clip: float) -> None:
    """Clamp every critic parameter into [−c, c].

    Called after each critic update, so the critic the generator sees is always inside the constraint set
    (the DTU study's code clamped between ``backward`` and ``step``, letting Adam push weights back out).
    """
    params = list(critic.parameters())
    torch._foreach_clamp_min_(params, -clip)
    torch._foreach_clamp_max_(params, clip)


class WeightClipping(Hook):
    """Clamps the critic after every optimizer step, and once before the first (as Arjovsky et al.'s code)."""

    name = "weight-clipping"

    def __init__(self, critic: nn.Module, clip: float) -> None:
        self.clip = clip
        clip_weights_(critic, clip)

    @classmethod
    def from_settings(cls, settings: ClippingSettings, facts: Facts, context: StepContext) -> WeightClipping | None:
        return cls(context.discriminator, settings.clip) if settings.clip > 0 else None

    def after_critic_step(self, batch: CriticBatch, context: StepContext) -> None:
        clip_weights_(context.discriminator, self.clip)
