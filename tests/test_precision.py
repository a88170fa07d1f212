"""Widening to float32, never narrowing (wganlab.precision)."""

from __future__ import annotations

import torch

from wganlab.precision import at_least_float32


def test_low_precision_is_widened_to_float32_and_float64_is_kept() -> None:
    for dtype, widened in [(torch.bfloat16, torch.float32), (torch.float16, torch.float32),
                           (torch.float32, torch.float32), (torch.float64, torch.float64)]:
        assert at_least_float32(torch.ones(2, dtype=dtype)).dtype == widened


def test_float32_passes_through_as_the_same_tensor() -> None:
    tensor = torch.ones(3)
    assert at_least_float32(tensor) is tensor  # no copy: float32 training runs exactly as before
