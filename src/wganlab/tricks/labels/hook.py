"""Discriminator targets: one-sided and two-sided label smoothing, and noisy (flipped) labels.

One-sided smoothing (Salimans et al. 2016, §3.4) sets the real target to 0.9 and leaves fakes at 0; smoothing
the fake target too moves the optimal discriminator to (α p_data + β p_g) / (p_data + p_g), which rewards the
generator for staying where it already is: the guide saw training collapse after ~60 epochs with it (§4.1).
Noisy labels swap a sample's real and fake targets with a small probability (§4.5).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import torch

from wganlab.training.hooks import CriticBatch, Hook, StepContext
from wganlab.tricks.labels.settings import LabelsConfig, LabelSettings

if TYPE_CHECKING:
    from wganlab.sections import Facts


class LabelTargets:
    """Per-sample targets for a batch of real and one of fake samples."""

    def __init__(self, config: LabelsConfig) -> None:
        self.real, self.fake, self.flip = config.real, config.fake, config.flip

    @property
    def plain(self) -> bool:
        return (self.real, self.fake, self.flip) == (1.0, 0.0, 0.0)

    def __call__(self, n_real: int, n_fake: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """(targets of the real samples, targets of the fake samples); flips drawn from torch's global RNG."""
        real = torch.full((n_real,), self.real, device=device)
        fake = torch.full((n_fake,), self.fake, device=device)
        if self.flip > 0:
            real = torch.where(torch.rand(n_real, device=device) < self.flip, self.fake, real)
            fake = torch.where(torch.rand(n_fake, device=device) < self.flip, self.real, fake)
        return real, fake


class LabelTargetsHook(Hook):
    """Gives each critic batch its targets. Drawn for the global batch and sliced per process (torchrun); a
    step on fakes alone (experience replay's) gets fake targets only."""

    name = "label-targets"

    def __init__(self, targets: LabelTargets) -> None:
        self.targets = targets

    @classmethod
    def from_settings(cls, settings: LabelSettings, facts: Facts, context: StepContext) -> LabelTargetsHook | None:
        return None if settings.labels.plain else cls(LabelTargets(settings.labels))

    def adjust_critic_batch(self, batch: CriticBatch, context: StepContext) -> CriticBatch:
        if batch.real is None:
            return replace(batch, fake_target=self.targets(0, len(batch.fake), context.device)[1])
        n = len(batch.real)
        real, fake = context.shard(n, lambda m: self.targets(m, m, context.device))
        return replace(batch, real_target=real, fake_target=fake)
