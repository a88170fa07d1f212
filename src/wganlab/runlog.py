"""Where a run's numbers go: ``metrics.jsonl`` (one JSON object per logged step) and TensorBoard events."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

METRICS_FILE = "metrics.jsonl"


class RunLog:
    """Appends metric records; TensorBoard is written beside them in ``tensorboard/``."""

    def __init__(self, run_dir: Path, tensorboard: bool = True) -> None:
        self.path = run_dir / METRICS_FILE
        self._writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def write(self, record: dict[str, Any]) -> None:
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(clean) + "\n")
        if self._writer is not None:
            step = int(record["step"])
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)):
                    self._writer.add_scalar(f"train/{key}", value, step)

    def image(self, tag: str, image_hwc: np.ndarray, step: int) -> None:
        if self._writer is not None:
            self._writer.add_image(tag, image_hwc, step, dataformats="HWC")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.flush()
            self._writer.close()


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / METRICS_FILE
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def truncate_metrics(run_dir: Path, after_step: int) -> None:
    """Drop records past ``after_step``: a resumed run rewrites what happened after its checkpoint."""
    records = read_metrics(run_dir)
    kept = [r for r in records if r["step"] <= after_step]
    if len(kept) != len(records):
        (run_dir / METRICS_FILE).write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
