"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"): colour,
translation and cutout applied to every sample the critic scores, real and fake, in the critic's and the
generator's steps. The transforms are differentiable in the image, so the generator learns through them; the
critic never sees an un-augmented sample and cannot simply memorise a small training set.

The three transforms follow the paper's §3 and its reference policy: brightness shifted by U[−0.5, 0.5],
saturation scaled by U[0, 2], contrast by U[0.5, 1.5]; a translation by up to 1/8 of the image with zero padding;
one cutout square of half the image side with a random centre. Gradient penalties are taken on the samples
before augmentation (the critic's raw input).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from wganlab.training.hooks import Hook, StepContext

if TYPE_CHECKING:
    from wganlab.sections import Facts
    from wganlab.tricks.diffaugment.settings import DiffAugmentSettings


def brightness(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    return x + (u - 0.5).view(-1, 1, 1, 1)


def saturation(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    mean = x.mean(1, keepdim=True)
    return (x - mean) * (2 * u).view(-1, 1, 1, 1) + mean


def contrast(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * (u + 0.5).view(-1, 1, 1, 1) + mean


def translation(x: torch.Tensor, u: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size in both directions (``u``: N x 2 uniforms), zero-padded."""
    n, _, h, w = x.shape
    reach_y, reach_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    shift_y = (u[:, 0] * (2 * reach_y + 1)).long().clamp(max=2 * reach_y) - reach_y
    shift_x = (u[:, 1] * (2 * reach_x + 1)).long().clamp(max=2 * reach_x) - reach_x
    padded = torch.nn.functional.pad(x, (reach_x, reach_x, reach_y, reach_y))
    rows = (torch.arange(h, device=x.device)[None] + reach_y - shift_y[:, None])  # N x H
    cols = (torch.arange(w, device=x.device)[None] + reach_x - shift_x[:, None])  # N x W
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, u: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ``ratio`` times the image side per image, its centre anywhere on the image."""
    _, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    centre_y, centre_x = (u[:, 0] * h).long().clamp(max=h - 1), (u[:, 1] * w).long().clamp(max=w - 1)
    rows = torch.arange(h, device=x.device)[None] - (centre_y - size_y // 2)[:, None]
    cols = torch.arange(w, device=x.device)[None] - (centre_x - size_x // 2)[:, None]
    inside = ((rows >= 0) & (rows < size_y))[:, :, None] & ((cols >= 0) & (cols < size_x))[:, None, :]
    return x * (~inside)[:, None].to(x.dtype)


# name -> (transforms with the number of uniforms each draws per sample); "color" is three transforms in turn
POLICIES: dict[str, list[tuple[Callable[..., torch.Tensor], int]]] = {
    "color": [(brightness, 1), (saturation, 1), (contrast, 1)],
    "translation": [(translation, 2)],
    "cutout": [(cutout, 2)],
}


def augment(x: torch.Tensor, policy: list[str], probability: float = 1.0,
            draw: Callable[[int, int], torch.Tensor] | None = None) -> torch.Tensor:
    """``x`` (N x C x H x W) through ``policy``'s transforms, each applied to each sample with ``probability``.
    ``draw(n, k)`` gives n x k uniforms (default: torch's global stream on x's device)."""
    draw = draw or (lambda n, k: torch.rand(n, k, device=x.device, dtype=x.dtype))
    for name in policy:
        for transform, uniforms in POLICIES[name]:
            u = draw(len(x), uniforms + 1)
            out = transform(x, u[:, 0] if uniforms == 1 else u[:, :uniforms])
            x = out if probability >= 1 else torch.where((u[:, -1] < probability).view(-1, 1, 1, 1), out, x)
    return x


class DiffAugment(Hook):
    """Every sample the critic scores goes through the policy (a fresh draw per batch, sliced per torchrun
    process like every other draw of the global batch)."""

    name = "diffaugment"

    def __init__(self, policy: list[str], probability: float = 1.0) -> None:
        self.policy, self.probability = policy, probability

    @classmethod
    def from_settings(cls, settings: DiffAugmentSettings, facts: Facts, context: StepContext) -> DiffAugment | None:
        transforms = settings.diffaugment.transforms
        return cls(transforms, settings.diffaugment.probability) if transforms else None

    def critic_view(self, x: torch.Tensor, context: StepContext) -> torch.Tensor:
        def draw(n: int, k: int) -> torch.Tensor:
            return context.shard(n, lambda m: torch.rand(m, k, device=x.device, dtype=x.dtype))

        return augment(x, self.policy, self.probability, draw)
