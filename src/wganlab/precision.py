"""Numeric precision shared by the training step and the layers it runs: widen low-precision results, never narrow."""

from __future__ import annotations

import torch


def at_least_float32(tensor: torch.Tensor) -> torch.Tensor:
    """The tensor in float32, or in its own precision where that is higher: bf16 autocast output is widened for
    losses, σ and statistics, and a float64 network (the tests' exact comparisons) is never narrowed."""
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))
