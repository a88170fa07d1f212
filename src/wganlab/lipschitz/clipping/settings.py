"""Weight clipping's one setting, the bound c (Arjovsky et al. 2017, Algorithm 1)."""

from __future__ import annotations

from dataclasses import dataclass

from wganlab.sections import Section, option


@dataclass
class ClippingSettings:
    clip: float = option(0.0, low=0.0, why="c of weight clipping (Arjovsky et al. 2017); 0 turns it off")


def search_space(settings: ClippingSettings) -> dict[str, dict[str, list]]:
    return {"lipschitz.clip": {"log_uniform": [0.003, 0.1]}} if settings.clip else {}  # around Arjovsky's 0.01


SETTINGS = Section("lipschitz", ClippingSettings, search_space=search_space)
