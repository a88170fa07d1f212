"""Historical averaging (Salimans et al. 2016, §3.3): weight · ‖θ − θ̄‖², θ̄ the mean of θ over all past steps.

The mean is a running average updated after every optimizer step, θ̄_t = θ̄_{t−1} + (θ_t − θ̄_{t−1}) / t, kept on
the device and in checkpoints; the penalty's gradient is 2 · weight · (θ − θ̄).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from wganlab.training.hooks import CriticBatch, Hook, StepContext, Term

if TYPE_CHECKING:
    from wganlab.sections import Facts
    from wganlab.tricks.averaging.settings import HistoricalAveragingSettings


class HistoricalAverage:
    def __init__(self, network: nn.Module, weight: float) -> None:
        self.weight = weight
        self.params = [p for p in network.parameters() if p.requires_grad]
        self.means = [p.detach().clone() for p in self.params]
        self.count = 1

    def distance(self) -> torch.Tensor:
        """‖θ − θ̄‖², summed over every trainable parameter."""
        return sum(((p - m) ** 2).sum() for p, m in zip(self.params, self.means, strict=True))

    def penalty(self) -> torch.Tensor:
        return self.weight * self.distance()

    @torch.no_grad()
    def update(self) -> None:
        self.count += 1
        torch._foreach_lerp_(self.means, [p.detach() for p in self.params], 1.0 / self.count)

    def state_dict(self) -> dict:
        return {"means": [m.clone() for m in self.means], "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        for mean, saved in zip(self.means, state["means"], strict=True):
            mean.copy_(saved)
        self.count = int(state["count"])


class HistoricalAveraging(Hook):
    """The penalty on the critic's loss, the generator's, or both (each with its own weight), logged as
    ``historical_distance_d`` / ``historical_distance_g`` (‖θ − θ̄‖², before the weight); every optimizer step of
    a network updates its mean, experience replay's extra critic steps included."""

    name = "historical-averaging"

    def __init__(self, generator: HistoricalAverage | None, discriminator: HistoricalAverage | None) -> None:
        self.generator, self.discriminator = generator, discriminator

    @classmethod
    def from_settings(cls, settings: HistoricalAveragingSettings, facts: Facts,
                      context: StepContext) -> HistoricalAveraging | None:
        weights = settings.historical_averaging
        if not (weights.generator or weights.discriminator):
            return None
        return cls(HistoricalAverage(context.generator, weights.generator) if weights.generator else None,
                   HistoricalAverage(context.discriminator, weights.discriminator) if weights.discriminator else None)

    def critic_terms(self, batch: CriticBatch, context: StepContext) -> list[Term]:
        return _term("historical_distance_d", self.discriminator)

    def after_critic_step(self, batch: CriticBatch, context: StepContext) -> None:
        if self.discriminator is not None:
            self.discriminator.update()

    def generator_terms(self, fake: torch.Tensor, labels: torch.Tensor | None, context: StepContext) -> list[Term]:
        return _term("historical_distance_g", self.generator)

    def after_generator_step(self, context: StepContext) -> None:
        if self.generator is not None:
            self.generator.update()

    def state_dict(self) -> dict[str, Any]:
        return {"generator": None if self.generator is None else self.generator.state_dict(),
                "discriminator": None if self.discriminator is None else self.discriminator.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for average, saved in ((self.generator, state.get("generator")), (self.discriminator,
                                                                           state.get("discriminator"))):
            if average is not None and saved is not None:
                average.load_state_dict(saved)


def _term(name: str, average: HistoricalAverage | None) -> list[Term]:
    return [] if average is None else [Term(name, average.distance(), average.weight)]
