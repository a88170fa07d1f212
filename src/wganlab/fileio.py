"""Small file and randomness helpers shared across wganlab."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it is renamed over ``path``, when it fails
    it is removed. Readers (and a crash at any moment) see the old file or the complete new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")  # keep the suffix: savers infer formats
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def isolated_rng(seed: int, device: torch.device | str = "cpu") -> Iterator[None]:
    """Run the block with torch's global RNG seeded to ``seed``, then restore it: draws made for evaluation and
    pictures never shift the training's random stream."""
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield
