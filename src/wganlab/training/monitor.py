"""Watching a run: losses summed on the device, the first one to go NaN, health flags, and the best value so far.

The step's losses (and every hook term, under its name) are added on the device each step and read once per
``log_every``, so the loop never waits for the device in between; the first non-finite step is tracked on the
device too, so a NaN is named exactly without a per-step sync.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wganlab.config import RunConfig
from wganlab.errors import WganlabError
from wganlab.fileio import write_json_atomic
from wganlab.rundir.checkpoints import atomic_torch_save, best_checkpoint_path
from wganlab.rundir.layout import BEST_FILE, HEALTH_FILE
from wganlab.training.distributed import Distributed
from wganlab.training.health import WINDOW, health_flags


class TrainingDiverged(WganlabError):
    """A loss or gradient became NaN or infinite."""


class Monitor:
    """On-device sums of the step's named losses, NaN tracking, health flags, the best checkpoint."""

    def __init__(self, config: RunConfig, run_dir: Path, device: torch.device, group: Distributed,
                 is_vectors: bool) -> None:
        self.config, self.run_dir, self.device, self.group = config, Path(run_dir), device, group
        self.best_metric = config.best_metric
        if self.best_metric == "auto":  # the run's own quality measure, when it is evaluated during training
            self.best_metric = "w1" if is_vectors else "fid"
        self.keys: list[str] = []  # every statistic seen so far, in order of first appearance
        self._sums = torch.zeros(0, device=device)
        self._counts = torch.zeros(0, device=device)  # steps that reported each (a lazy penalty: every k-th)
        self._masks: dict[tuple[str, ...], torch.Tensor] = {}
        self._zero = torch.zeros((), device=device)  # the placeholder of a statistic a step did not report
        self._first_bad_step = torch.full((), -1, dtype=torch.long, device=device)
        self._first_bad = torch.zeros(0, dtype=torch.bool, device=device)
        self.health: dict[str, dict[str, Any]] = {}
        self.active_flags: list[str] = []
        self._recent: deque[dict[str, Any]] = deque(maxlen=WINDOW)
        self.best: dict[str, Any] = {"value": None, "step": None}

    def add(self, step: int, stats: dict[str, torch.Tensor]) -> None:
        """Accumulate one step's statistics (step numbers count from 0), without a host sync. A statistic may
        be missing from some steps (a lazy penalty); its average is over the steps that reported it."""
        new = [k for k in stats if k not in self.keys]
        if new:
            self._grow(new)
        values = torch.stack([stats.get(k, self._zero) for k in self.keys])
        present = tuple(stats)
        if present not in self._masks:
            self._masks[present] = torch.tensor([k in stats for k in self.keys], device=self.device)
        mask = self._masks[present]
        self._sums += values
        self._counts += mask
        bad = ~torch.isfinite(values) & mask
        first = (self._first_bad_step < 0) & bad.any()
        self._first_bad_step = torch.where(first, step, self._first_bad_step)
        self._first_bad = torch.where(first, bad, self._first_bad)

    def _grow(self, keys: list[str]) -> None:
        more = len(keys)
        self.keys += keys
        self._sums = torch.cat([self._sums, torch.zeros(more, device=self.device)])
        self._counts = torch.cat([self._counts, torch.zeros(more, device=self.device)])
        self._first_bad = torch.cat([self._first_bad, torch.zeros(more, dtype=torch.bool, device=self.device)])
        self._masks.clear()

    def averages(self) -> dict[str, float]:
        """The mean of each statistic since the last call, over all processes (one host sync); restarts them.
        A statistic that no step reported since then is left out."""
        both = self.group.mean(torch.stack([self._sums, self._counts]))
        sums, counts = both.tolist() if self.keys else ([], [])
        self._sums.zero_()
        self._counts.zero_()
        return {k: total / n for k, total, n in zip(self.keys, sums, counts, strict=True) if n > 0}

    def check_finite(self, step: int, record: dict[str, Any] | None = None) -> None:
        """Raise :class:`TrainingDiverged` naming the first step and quantity that went NaN or infinite."""
        first = int(self._first_bad_step)
        if self.group.any(first >= 0, self.device):  # every process raises, so none waits for the others
            if first < 0:
                raise TrainingDiverged(f"a loss became NaN or infinite on another process by step {step}")
            keys = [k for k, bad in zip(self.keys, self._first_bad.tolist(), strict=True) if bad]
            raise TrainingDiverged(f"{keys[0]} became NaN or infinite at step {first + 1}")
        for key in ("d_grad_norm", "g_grad_norm"):
            if record is not None and not np.isfinite(record[key]):
                raise TrainingDiverged(f"{key} became {record[key]} at step {step}")

    def evaluation_due(self, step: int) -> bool:
        """Whether an evaluation falls in the ``log_every`` steps that end at ``step`` (or it is the last step)."""
        every, log_every = self.config.eval_every, self.config.log_every
        previous_log = (step - 1) // log_every * log_every
        return bool(every) and (step // every > previous_log // every or step == self.config.steps)

    def observe(self, record: dict[str, Any]) -> None:
        """Raise the training-health flags that now hold (each recorded once, with its first step)."""
        self._recent.append(record)
        active = health_flags(list(self._recent), self.config.objective)
        for kind, message in active.items():
            if kind not in self.health:
                self.flag(kind, message, record["step"])
        self.active_flags = sorted(active)

    def flag(self, kind: str, message: str, step: int) -> None:
        self.health.setdefault(kind, {"first_step": step, "message": message})
        write_json_atomic(self.run_dir / HEALTH_FILE, self.health)

    def keep_if_best(self, record: dict[str, Any], state: Callable[[], dict[str, Any]]) -> None:
        """Save ``state()`` as ``best.pt`` when ``record`` improves the best metric (lower is better)."""
        metric = self.best_metric
        if metric is None or record.get(metric) is None:
            return
        if self.best["value"] is None or record[metric] < self.best["value"]:
            self.best = {"value": float(record[metric]), "step": record["step"], "metric": metric}
            atomic_torch_save(state(), best_checkpoint_path(self.run_dir))
            write_json_atomic(self.run_dir / BEST_FILE, self.best)

    def state_dict(self) -> dict[str, Any]:
        return {"stats": {"keys": list(self.keys), "sums": self._sums.detach().cpu().clone(),
                          "counts": self._counts.detach().cpu().clone()},
                "best": dict(self.best), "health": {k: dict(v) for k, v in self.health.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        stats = state["stats"]
        keys = list(stats["keys"])
        sums = torch.as_tensor(stats["sums"], dtype=torch.float32).reshape(len(keys))
        # format-1 checkpoints (upgraded) count steps once for all statistics
        counts = stats.get("counts", [float(stats.get("count", 0))] * len(keys))
        counts = torch.as_tensor(counts, dtype=torch.float32)
        self.keys = keys
        self._sums, self._counts = sums.to(self.device), counts.reshape(len(keys)).to(self.device)
        self._first_bad = torch.zeros(len(keys), dtype=torch.bool, device=self.device)
        self._masks.clear()
        self.best = dict(state["best"])
        self.health = {k: dict(v) for k, v in state["health"].items()}
        self._first_bad_step.fill_(-1)
