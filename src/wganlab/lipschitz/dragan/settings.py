"""DRAGAN's settings: λ and the scale of the noise around real samples."""

from __future__ import annotations

from dataclasses import dataclass, field

from wganlab.sections import Section, option


@dataclass
class DraganConfig:
    """Kodali et al. 2017: λ E[(‖∇D(x̂)‖₂ − 1)²] at x̂ between x and x + δ, δ ~ c · std(x) · U[0, 1]."""

    weight: float = option(0.0, low=0.0, why="λ (10 in Kodali et al.); 0 turns the penalty off")
    perturbation: float = option(0.5, low=0.0, low_open=True, why="c, the noise scale in standard deviations of "
                                 "the real batch")


@dataclass
class DraganSettings:
    dragan: DraganConfig = field(default_factory=DraganConfig)


def search_space(settings: DraganSettings) -> dict[str, dict[str, list]]:
    return {"lipschitz.dragan.weight": {"log_uniform": [0.1, 10.0]}} if settings.dragan.weight else {}


SETTINGS = Section("lipschitz", DraganSettings, search_space=search_space)
