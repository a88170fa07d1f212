"""An exponential moving average of the generator's weights (Karras et al. 2018; Yazıcı et al. 2019), which
samples, evaluation and exports use instead of the last iterate."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from wganlab.training.hooks import Hook, StepContext

if TYPE_CHECKING:
    from wganlab.sections import Facts
    from wganlab.tricks.ema.settings import EmaSettings


class GeneratorAverage(Hook):
    """θ̄ ← decay · θ̄ + (1 − decay) · θ after every generator step; buffers (batch-norm statistics) are copied."""

    name = "ema"

    def __init__(self, generator: nn.Module, decay: float) -> None:
        self.decay = decay
        self.network = copy.deepcopy(generator).eval().requires_grad_(False)

    @classmethod
    def from_settings(cls, settings: EmaSettings, facts: Facts, context: StepContext) -> GeneratorAverage | None:
        return cls(context.generator, settings.ema) if settings.ema > 0 else None

    @torch.no_grad()
    def after_generator_step(self, context: StepContext) -> None:
        # Warm-up as in Karras et al.'s implementations: early on, the average must not be dominated by init.
        decay = min(self.decay, (1 + context.step) / (10 + context.step))
        torch._foreach_lerp_(list(self.network.parameters()), list(context.generator.parameters()), 1.0 - decay)
        for average, buffer in zip(self.network.buffers(), context.generator.buffers(), strict=True):
            average.copy_(buffer)

    def sampling_generator(self) -> nn.Module:
        return self.network

    def state_dict(self) -> dict[str, Any]:
        return {"network": self.network.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.network.load_state_dict(state["network"])
