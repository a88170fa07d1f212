"""Where a run's numbers go: ``metrics.jsonl`` (one JSON object per logged step) and TensorBoard events."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from wganlab.fileio import atomic_output

METRICS_FILE = "metrics.jsonl"


class RunLog:
    """Appends metric records; TensorBoard is written beside them in ``tensorboard/``."""

    def __init__(self, run_dir: Path, tensorboard: bool = True, resumed_at: int | None = None) -> None:
        self.path = run_dir / METRICS_FILE
        self._writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            # purge_step hides events a crashed run logged after the checkpoint it resumes from
            self._writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"), purge_step=resumed_at)

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
    records = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line torn by a crash mid-write: the run resumes from its checkpoint anyway
    return records


def truncate_metrics(run_dir: Path, after_step: int) -> None:
    """Drop records past ``after_step`` (and torn lines): a resumed run rewrites what came after its checkpoint."""
    path = run_dir / METRICS_FILE
    if not path.is_file():
        return
    kept = [r for r in read_metrics(run_dir) if r.get("step", 0) <= after_step]
    with atomic_output(path) as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
