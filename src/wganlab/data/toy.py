"""2D toy distributions, sampled fresh on the device every step (no fixed dataset to overfit).

The mixtures follow Gulrajani et al.'s ``gan_toy.py`` exactly; ``scurve`` and ``moons`` are the continuous versions
of scikit-learn's ``make_s_curve`` and ``make_moons`` (noise-free) of the DTU study of Gribsvad & Bundgaard-Nielsen,
whose repository trains ``make_s_curve``'s first coordinate against its parameter t as its "s-curve": ``scurve-xt``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

SQRT2 = 1.414  # the constant gan_toy.py divides by (not math.sqrt(2)): kept so the geometry is theirs
TWO_SQRT2 = 2.828


@dataclass(frozen=True)
class GaussianMixture:
    """Equal-weight isotropic Gaussians: the centres and the shared standard deviation after scaling."""

    centres: torch.Tensor  # K x 2
    std: float

    def sample(self, n: int, device: torch.device) -> torch.Tensor:
        centres = self.centres.to(device)
        index = torch.randint(len(centres), (n,), device=device)
        return centres[index] + self.std * torch.randn(n, 2, device=device)


def eight_gaussians() -> GaussianMixture:
    """Centres on the circle of radius 2 at multiples of 45°, std 0.02, all divided by 1.414."""
    angles = torch.arange(8, dtype=torch.float64) * (math.pi / 4)
    centres = 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)
    return GaussianMixture((centres / SQRT2).float(), 0.02 / SQRT2)


def twenty_five_gaussians() -> GaussianMixture:
    """Centres on the grid {-4, -2, 0, 2, 4}², std 0.05, all divided by 2.828."""
    grid = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    centres = torch.cartesian_prod(grid, grid)
    return GaussianMixture(centres / TWO_SQRT2, 0.05 / TWO_SQRT2)


def swiss_roll(n: int, device: torch.device) -> torch.Tensor:
    """``make_swiss_roll(noise=0.25)`` dims [0, 2], divided by 7.5, as in gan_toy.py."""
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, device=device))
    points = torch.stack([t * t.cos(), t * t.sin()], dim=1)
    return (points + 0.25 * torch.randn(n, 2, device=device)) / 7.5


def s_curve(n: int, device: torch.device) -> torch.Tensor:
    """``make_s_curve(noise=0)`` projected on dims [0, 2] (the 'S' itself)."""
    t = 3 * math.pi * (torch.rand(n, device=device) - 0.5)
    return torch.stack([t.sin(), t.sign() * (t.cos() - 1)], dim=1)


def s_curve_xt(n: int, device: torch.device) -> torch.Tensor:
    """What the DTU study's repository trains as its "s-curve": ``make_s_curve``'s first coordinate against its
    position parameter t, ``(sin t, t)`` for t uniform in [-3π/2, 3π/2], a sine wave standing upright."""
    t = 3 * math.pi * (torch.rand(n, device=device) - 0.5)
    return torch.stack([t.sin(), t], dim=1)


def moons(n: int, device: torch.device) -> torch.Tensor:
    """``make_moons(noise=0)``: two interleaving half circles, each point on either with probability 1/2."""
    theta = math.pi * torch.rand(n, device=device)
    outer = torch.stack([theta.cos(), theta.sin()], dim=1)
    inner = torch.stack([1 - theta.cos(), 0.5 - theta.sin()], dim=1)
    pick_inner = torch.rand(n, 1, device=device) < 0.5
    return torch.where(pick_inner, inner, outer)


MIXTURES = {"8gaussians": eight_gaussians, "25gaussians": twenty_five_gaussians}
CURVES = {"swissroll": swiss_roll, "scurve": s_curve, "scurve-xt": s_curve_xt, "moons": moons}


class ToySource:
    """A :class:`~wganlab.data.sources.DataSource` for a named 2D distribution; draws from torch's global RNG."""

    shape = (2,)
    num_classes = None
    is_vectors = True

    def __init__(self, name: str, device: torch.device) -> None:
        self.name = name
        self.device = device
        self.mixture = MIXTURES[name]() if name in MIXTURES else None
        if self.mixture is not None:  # on the device once: a copy per batch would make each step wait for a GPU
            self.mixture = GaussianMixture(self.mixture.centres.to(device), self.mixture.std)
        self._curve = CURVES.get(name)

    def sample(self, batch_size: int) -> torch.Tensor:
        if self.mixture is not None:
            return self.mixture.sample(batch_size, self.device)
        return self._curve(batch_size, self.device)

    def state_dict(self) -> dict:
        return {}  # stateless: every draw comes from the checkpointed global RNG

    def load_state_dict(self, state: dict) -> None:
        del state
