"""The discriminator's targets: one-sided or two-sided smoothing and noisy (flipped) labels; for the objectives
that take per-sample targets."""

from __future__ import annotations

from dataclasses import dataclass, field

from wganlab.errors import ConfigError
from wganlab.registry import OBJECTIVES
from wganlab.sections import Facts, Section, option


@dataclass
class LabelsConfig:
    """Discriminator targets of the GAN objectives (Salimans et al. 2016; the practical guide, §4.1 and §4.5)."""

    real: float = option(1.0, low=0.0, high=1.0, why="0.9 is one-sided label smoothing")
    fake: float = option(0.0, low=0.0, high=1.0, why="above 0 is two-sided smoothing, which the guide warns against")
    flip: float = option(0.0, low=0.0, high=0.5, why="probability that a sample's real/fake target is swapped "
                         "(noisy labels; the guide's suggestion is 0.05)")

    @property
    def plain(self) -> bool:
        """Targets 1 and 0, never flipped: the objective's own."""
        return (self.real, self.fake, self.flip) == (1, 0, 0)


@dataclass
class LabelSettings:
    labels: LabelsConfig = field(default_factory=LabelsConfig)


def check(settings: LabelSettings, facts: Facts) -> None:
    labels = settings.labels
    if not labels.plain and not OBJECTIVES.can(facts.objective, "label_targets"):
        raise ConfigError(f"tricks.labels (smoothing, noisy labels) change the targets of the GAN objectives; "
                          f"objective={facts.objective} has none: use one of "
                          f"{', '.join(OBJECTIVES.having('label_targets'))}, or drop tricks.labels")
    if labels.fake >= labels.real:
        raise ConfigError(f"tricks.labels.fake ({labels.fake}) must be below tricks.labels.real ({labels.real})")


SETTINGS = Section("tricks", LabelSettings, check)
