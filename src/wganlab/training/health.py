"""Training-health flags from the practical guide (Garrido et al., §2.6), read off the logged history.

- ``vanishing-gradients``: a GAN discriminator's loss stuck near 0 — the generator learns nothing from it.
- ``generator-diverging``: a GAN generator's loss climbing steadily — the discriminator is too strong.
- ``both-flat``: both GAN losses constant — the generator is too strong and nothing is learned.
- ``mode-collapse``: fixed-noise samples much less diverse than real data, and the runs keep narrowing.
- ``nan``: a loss or gradient became NaN or infinite (the run stops).

The losses of a WGAN critic are unbounded and drift by design, so the loss rules apply to GAN objectives only.
Each rule needs ``WINDOW`` consecutive logged records, so a single noisy window raises nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from wganlab.registry import OBJECTIVES

WINDOW = 5


def sample_diversity(samples: torch.Tensor) -> float:
    """Mean pairwise Euclidean distance between samples (flattened)."""
    flat = samples.detach().float().flatten(1)
    d = torch.cdist(flat, flat)
    n = len(flat)
    return float(d.sum() / (n * (n - 1))) if n > 1 else 0.0


def health_flags(records: Sequence[dict[str, Any]], objective: str) -> dict[str, str]:
    """The flags that hold at the end of ``records`` (oldest first), each with a one-line explanation."""
    flags: dict[str, str] = {}
    recent = list(records[-WINDOW:])
    if len(recent) < WINDOW:
        return flags
    start = recent[0]["step"]
    if OBJECTIVES.can(objective, "probability"):  # cross-entropies: a loss near 0 has a meaning
        d = np.array([r["d_loss"] for r in recent], dtype=float)
        g = np.array([r["g_loss"] for r in recent], dtype=float)
        if (d < 0.05).all():
            flags["vanishing-gradients"] = (f"discriminator loss below 0.05 since step {start}: the generator's "
                                            "gradients vanish; slow the discriminator down")
        rises = np.diff(g) > 0
        if rises.all() and g[-1] - g[0] > 0.25 * (abs(g[0]) + 1):
            flags["generator-diverging"] = (f"generator loss rising steadily since step {start} "
                                            f"({g[0]:.3g} -> {g[-1]:.3g}): the discriminator is too strong")
        if _flat(d) and _flat(g):
            flags["both-flat"] = (f"both losses flat since step {start}: the generator may be too strong and "
                                  "nothing is being learned")
    diversity = [r.get("diversity") for r in recent]
    if all(v is not None for v in diversity) and max(diversity) < 0.3 and diversity[-1] <= diversity[0]:
        flags["mode-collapse"] = (f"fixed-noise samples are {diversity[-1]:.0%} as diverse as real data since step "
                                  f"{start}: the generator is collapsing onto few modes")
    return flags


def _flat(values: np.ndarray) -> bool:
    return float(values.max() - values.min()) < 0.01 * (abs(float(values.mean())) + 1e-3)
