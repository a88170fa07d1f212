"""Feature matching (Salimans et al. 2016, §3.1): the generator matches the mean discriminator features of real
data instead of fooling the discriminator's output."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from wganlab.training.hooks import Hook, StepContext, Term

if TYPE_CHECKING:
    from wganlab.sections import Facts
    from wganlab.tricks.matching.settings import FeatureMatchingSettings


def feature_matching_loss(fake_features: torch.Tensor, real_mean: torch.Tensor) -> torch.Tensor:
    """Squared distance between mean features, per feature (Salimans et al.'s ‖E f(x) − E f(G(z))‖² / d)."""
    return ((fake_features.mean(0) - real_mean) ** 2).mean()


class FeatureMatching(Hook):
    """Replaces the generator's adversarial loss by the feature gap on a fresh real batch, at ``layer``
    ('features': the discriminator body's output; 'last': the output layer's input)."""

    name = "feature-matching"
    replaces_generator_objective = True

    def __init__(self, layer: str) -> None:
        self.layer = layer

    @classmethod
    def from_settings(cls, settings: FeatureMatchingSettings, facts: Facts,
                      context: StepContext) -> FeatureMatching | None:
        layer = settings.feature_matching
        return None if layer == "none" else cls(layer)

    def generator_terms(self, fake: torch.Tensor, labels: torch.Tensor | None, context: StepContext) -> list[Term]:
        real, real_labels = context.real_batch()
        with torch.no_grad():
            target = context.critic_features(real, real_labels, self.layer).mean(0)
        fake_features = context.critic_features(fake, labels, self.layer)
        return [Term("feature_matching", feature_matching_loss(fake_features, target))]
