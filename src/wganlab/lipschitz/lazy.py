"""Lazy regularization (Karras et al. 2020, §3.1): a gradient penalty on every k-th critic step only, with its
weight multiplied by k, so its average pull is unchanged while most steps skip its double backward."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wganlab.sections import Section, option


@dataclass
class LazySettings:
    every: int = option(1, low=1, why="lazy regularization (Karras et al. 2020): the gradient penalties on every k-th "
                        "critic step only, with their weight × k")


SETTINGS = Section("lipschitz", LazySettings)


class Lazy:
    """Counts a penalty's critic steps (0, 1, 2, ...) and says on which it is due: 0, k, 2k, ..."""

    def __init__(self, every: int = 1) -> None:
        self.every = every
        self.steps = 0

    def due(self) -> bool:
        """Whether this critic step carries the penalty; call once per step."""
        due = self.steps % self.every == 0
        self.steps += 1
        return due

    def weight(self, weight: float) -> float:
        return weight * self.every

    def state_dict(self) -> dict[str, Any]:
        return {"critic_steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps = int(state.get("critic_steps", 0))
