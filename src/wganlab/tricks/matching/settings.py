"""Feature matching's one setting: which discriminator features the generator matches, or none."""

from __future__ import annotations

from dataclasses import dataclass

from wganlab.sections import Facts, Section, option, require_composable


@dataclass
class FeatureMatchingSettings:
    feature_matching: str = option("none", choices=("none", "features", "last"),
                                   why="the generator matches the mean discriminator features of real data: "
                                   "'features' after the convolutions, 'last' before the output layer")


def check(settings: FeatureMatchingSettings, facts: Facts) -> None:
    if settings.feature_matching != "none":
        require_composable(facts.arch, "tricks.feature_matching")


SETTINGS = Section("tricks", FeatureMatchingSettings, check,
                   needs_head=lambda settings: settings.feature_matching != "none")
