"""Historical averaging's weights, one per network."""

from __future__ import annotations

from dataclasses import dataclass, field

from wganlab.sections import Section, option


@dataclass
class HistoricalAveragingConfig:
    """Salimans et al. 2016, §3.3: a penalty weight · ‖θ − mean of past θ‖² on each network's loss."""

    generator: float = option(0.0, low=0.0)
    discriminator: float = option(0.0, low=0.0)


@dataclass
class HistoricalAveragingSettings:
    historical_averaging: HistoricalAveragingConfig = field(default_factory=HistoricalAveragingConfig)


SETTINGS = Section("tricks", HistoricalAveragingSettings)
