"""Historical averaging (Salimans et al. 2016, §3.3): weight · ‖θ − θ̄‖², θ̄ the mean of θ over all past steps.

The mean is a running average updated after every optimizer step, θ̄_t = θ̄_{t−1} + (θ_t − θ̄_{t−1}) / t, kept on
the device and in checkpoints; the penalty's gradient is 2 · weight · (θ − θ̄).
"""

from __future__ import annotations

import torch
from torch import nn


class HistoricalAverage:
    def __init__(self, network: nn.Module, weight: float) -> None:
        self.weight = weight
        self.params = [p for p in network.parameters() if p.requires_grad]
        self.means = [p.detach().clone() for p in self.params]
        self.count = 1

    def penalty(self) -> torch.Tensor:
        return self.weight * sum(((p - m) ** 2).sum() for p, m in zip(self.params, self.means, strict=True))

    @torch.no_grad()
    def update(self) -> None:
        self.count += 1
        torch._foreach_lerp_(self.means, [p.detach() for p in self.params], 1.0 / self.count)

    def state_dict(self) -> dict:
        return {"means": [m.clone() for m in self.means], "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        for mean, saved in zip(self.means, state["means"], strict=True):
            mean.copy_(saved)
        self.count = int(state["count"])
