"""What a run shows of itself while it trains: the same latents drawn at every sample step, and their diversity.

Nothing here touches training's random stream or data order: the fixed latents have their own generator, and
the real samples they are compared with are chosen by the seed alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from wganlab import plots
from wganlab.config import RunConfig
from wganlab.data.images import to_float, to_uint8
from wganlab.fileio import isolated_rng
from wganlab.nets.build import eval_mode
from wganlab.training.health import sample_diversity

GRID_SAMPLES = 64
GRID_COLUMNS = 8
TOY_SAMPLES = 1000
DIVERSITY_SAMPLES = 256


def fixed_real_batch(source: Any, n: int, config: RunConfig,
                     device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The same ``n`` real samples (and labels) for a seed, drawn without touching training's RNG or data order:
    the diversity baseline, the points behind toy scatter plots and the virtual-batch-norm reference batch."""
    images = getattr(source, "images", None)
    if images is not None:
        index = torch.randperm(len(images), generator=torch.Generator().manual_seed(config.seed))[:n]
        labels = getattr(source, "labels", None)
        return (to_float(images[index.to(images.device)], config.data.pixel_range),
                None if labels is None else labels[index.to(labels.device)])
    with isolated_rng(config.seed + 4, device):
        return source.sample(n), None  # the whole draw, on every process


class Snapshots:
    """Fixed latents (one row of 8 per class for a conditional model), drawn as a grid or a scatter plot."""

    def __init__(self, config: RunConfig, source: Any, latent_dim: int, num_classes: int,
                 device: torch.device) -> None:
        self.config, self.source, self.device = config, source, device
        self.is_vectors = bool(source.is_vectors)
        count = TOY_SAMPLES if self.is_vectors else GRID_SAMPLES
        if num_classes:
            count = GRID_COLUMNS * num_classes
        noise_rng = torch.Generator().manual_seed(config.seed + 1)
        self.noise = torch.randn(count, latent_dim, generator=noise_rng).to(device)
        self.labels = None if not num_classes else \
            torch.arange(num_classes, device=device).repeat_interleave(GRID_COLUMNS)
        self.real_diversity = sample_diversity(self.real(min(count, DIVERSITY_SAMPLES)))
        self._kept: dict[tuple[nn.Module, int], torch.Tensor] | None = None

    def real(self, n: int) -> torch.Tensor:
        return fixed_real_batch(self.source, n, self.config, self.device)[0]

    @contextlib.contextmanager
    def same_weights(self) -> Iterator[None]:
        """Within, the networks do not change: a draw of the same latents is made once and reused. At a step that
        both logs and samples (every sample step when the intervals are multiples, and the last) the diversity
        and the picture of an image model share one pass through the generator, both drawing every fixed latent
        (SNGAN's 64 images took 1.8 s a pass on a core). A toy's picture draws 1,000 points where the diversity
        draws 256, as does a conditional model's of more than 32 classes: two passes, as a slice of the larger
        draw would not be bit-identical to the smaller one."""
        if self._kept is not None:  # nested: the outer block's draws stay
            yield
            return
        self._kept = {}
        try:
            yield
        finally:
            self._kept = None

    @torch.no_grad()
    def draw(self, generator: nn.Module, n: int | None = None) -> torch.Tensor:
        """``generator``'s output (in eval mode) for the first ``n`` fixed latents (and labels)."""
        n = len(self.noise) if n is None else min(n, len(self.noise))
        key = (generator, n)
        if self._kept is not None and key in self._kept:
            return self._kept[key]
        labels = None if self.labels is None else self.labels[:n]
        with eval_mode(generator):
            out = generator(self.noise[:n], labels)
        if self._kept is not None:
            self._kept[key] = out
        return out

    def diversity(self, generator: nn.Module) -> float:
        """Mean pairwise distance of fixed-noise samples relative to that of real data (1: as diverse)."""
        return round(sample_diversity(self.draw(generator, DIVERSITY_SAMPLES)) / max(self.real_diversity, 1e-12), 4)

    def picture(self, generator: nn.Module, step: int) -> np.ndarray:
        """The fixed-noise samples of ``step`` as an image: a grid, or a scatter plot over real points for toys."""
        out = self.draw(generator).float().cpu()
        if self.is_vectors:
            reference = self.real(TOY_SAMPLES).cpu().numpy()
            return plots.points_figure(out.numpy(), reference, title=f"step {step}")
        return plots.image_grid(to_uint8(out, self.config.data.pixel_range).numpy(), columns=GRID_COLUMNS)

    def save(self, generator: nn.Module, run_dir: Path, step: int) -> tuple[Path, np.ndarray]:
        image = self.picture(generator, step)
        path = Path(run_dir) / "samples" / f"step_{step:08d}.png"
        plots.save_png(image, path)
        return path, image
