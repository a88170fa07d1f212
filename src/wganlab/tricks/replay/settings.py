"""Experience replay's settings: extra critic steps on kept fakes (the practical guide) or a pool of past fakes
mixed into each critic batch (Shrivastava et al.)."""

from __future__ import annotations

from dataclasses import dataclass, field

from wganlab.errors import ConfigError
from wganlab.registry import OBJECTIVES
from wganlab.sections import Facts, Section, option


@dataclass
class ReplayConfig:
    """Experience replay (the practical guide, §4.2): show the discriminator past fakes again."""

    mode: str = option("none", choices=("none", "step", "pool"),
                       why="step: keep one random fake per batch and take an extra discriminator step on them when "
                       "'every' are kept; pool: mix past fakes into each discriminator batch (Shrivastava et al.)")
    every: int = option(0, low=0, why="fakes kept before each replay step; 0: dataset size / batch size, as the "
                        "guide advises (one per batch of an epoch)")
    pool_size: int = option(50, low=1)
    pool_share: float = option(0.5, low=0.0, high=1.0, why="chance that a fake is swapped for a stored one")


@dataclass
class ReplaySettings:
    replay: ReplayConfig = field(default_factory=ReplayConfig)


def check(settings: ReplaySettings, facts: Facts) -> None:
    if settings.replay.mode == "step" and OBJECTIVES.can(facts.objective, "relativistic"):
        raise ConfigError(f"objective={facts.objective} compares fakes with reals, so experience replay's steps on "
                          "fakes alone have no loss: use tricks.replay.mode=pool or another objective")


SETTINGS = Section("tricks", ReplaySettings, check)
