"""DiffAugment's settings: which transforms, and how often each is applied; images only."""

from __future__ import annotations

from dataclasses import dataclass, field

from wganlab.errors import ConfigError
from wganlab.sections import Facts, Section, option

TRANSFORMS = ("color", "translation", "cutout")  # Zhao et al.'s three; the hook's POLICIES implements each


@dataclass
class DiffAugmentConfig:
    """DiffAugment (Zhao et al. 2020): the same differentiable augmentations on every sample the critic scores,
    real and fake, in both steps, so a critic trained on few images cannot memorise them."""

    policy: str = option("none", why="comma-separated: color, translation, cutout (all three: their choice for "
                         "small datasets); none turns it off")
    probability: float = option(1.0, low=0.0, high=1.0, why="each transform is applied to each sample with this "
                                "probability (1 in Zhao et al.)")

    @property
    def transforms(self) -> list[str]:
        return [] if self.policy == "none" else self.policy.split(",")


@dataclass
class DiffAugmentSettings:
    diffaugment: DiffAugmentConfig = field(default_factory=DiffAugmentConfig)


def check(settings: DiffAugmentSettings, facts: Facts) -> None:
    transforms = settings.diffaugment.transforms
    unknown = sorted(set(transforms) - set(TRANSFORMS))
    if unknown:
        raise ConfigError(f"'tricks.diffaugment.policy' takes {', '.join(TRANSFORMS)} (comma-separated) or none; "
                          f"{unknown[0]!r} is none of them")
    if transforms and not facts.images:
        kind = "is a 2D toy" if facts.data_kind == "points" else "holds feature vectors"
        raise ConfigError(f"tricks.diffaugment augments images; data={facts.data} {kind}: drop it")


SETTINGS = Section("tricks", DiffAugmentSettings, check)
