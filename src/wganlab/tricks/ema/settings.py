"""The decay of the generator's exponential moving average, a key of the run itself (``ema=0.999``)."""

from __future__ import annotations

from dataclasses import dataclass

from wganlab.sections import Section, option


@dataclass
class EmaSettings:
    ema: float = option(0.0, low=0.0, high=1.0,
                        why="decay of an exponential moving average of the generator; 0 turns it off")


SETTINGS = Section("", EmaSettings)
