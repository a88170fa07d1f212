"""Small file and randomness helpers shared across wganlab."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def write_json_atomic(path: Path, value: Any) -> None:
    """``value`` as indented JSON, written through :func:`atomic_output`."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2), encoding="utf-8")


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when it is missing or unreadable (a file another run is still to write)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


@contextmanager
def isolated_rng(seed: int, device: torch.device | str = "cpu") -> Iterator[None]:
    """Run the block with torch's global RNG seeded to ``seed``, then restore it: draws made for evaluation and
    pictures never shift the training's random stream."""
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield
