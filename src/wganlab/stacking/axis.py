"""The seed axis of a step's batch: how a step reduces per seed, whether it trains one seed or a stack of S.

A stacked run's batches are seed-major (seed 0's B rows, then seed 1's ...). Every loss is a mean over the batch
of one seed, so the step and the penalties reduce with ``per_seed(x).mean(-1)``: a scalar for one seed, a vector
of S losses for a stack, whose sum is what backward sees — each seed's parameters then get exactly the gradient
of their own loss (no seed's parameters reach another seed's loss).
"""

from __future__ import annotations

import torch


class SeedAxis:
    """``seeds`` runs trained side by side in one batch (1: an ordinary run, and every method is a no-op)."""

    def __init__(self, seeds: int = 1) -> None:
        if seeds < 1:
            raise ValueError(f"a step trains at least one seed, not {seeds}")
        self.seeds = seeds

    def per_seed(self, x: torch.Tensor | None) -> torch.Tensor | None:
        """Per-sample values ``[S*B, ...]`` as ``[S, B, ...]`` (unchanged for one seed), so ``.mean(-1)`` of a
        per-sample vector is each seed's mean."""
        if x is None or self.seeds == 1:
            return x
        return x.unflatten(0, (self.seeds, -1))

    def cat(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """Two batches as one, each seed's rows of both together (a joint critic pass over reals and fakes)."""
        if self.seeds == 1:
            return torch.cat([first, second])
        return torch.cat([first.unflatten(0, (self.seeds, -1)), second.unflatten(0, (self.seeds, -1))], 1).flatten(0, 1)

    def split(self, joint: torch.Tensor, first_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Undo :meth:`cat`: ``first_rows`` is the first batch's size over all seeds."""
        if self.seeds == 1:
            return joint[:first_rows], joint[first_rows:]
        rows = joint.unflatten(0, (self.seeds, -1))
        own = first_rows // self.seeds
        return rows[:, :own].flatten(0, 1), rows[:, own:].flatten(0, 1)
