"""Weight clipping's one setting, the bound c (Arjovsky et al. 2017, Algorithm 1)."""

from __future__ import annotations

from dataclasses import dataclass

from wganlab.sections import Section, option


@dataclass
class ClippingSettings:
    clip: float = option(0.0, low=0.0, why="c of weight clipping (Arjovsky et al. 2017); 0 turns it off")


SETTINGS = Section("lipschitz", ClippingSettings)
