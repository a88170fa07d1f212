"""A run directory: its layout, its config, its event log, its lock, and which checkpoint a resume starts from.

Everything here works without building a trainer, so sampling, evaluation, ``wganlab check`` and the study
reports read runs without importing the training loop.

    RUN_DIR/config.yaml      the resolved config (execution settings updated by resumes)
    RUN_DIR/run.json         versions, device, shapes and parameter counts
    RUN_DIR/metrics.jsonl    one record per log_every steps
    RUN_DIR/events.jsonl     stops by a signal, rollbacks, damaged checkpoints, resumes with other settings
    RUN_DIR/checkpoints/     step_N.pt + step_N.pt.sha256, best.pt
    RUN_DIR/samples/, tensorboard/, loss_curves.png, critic_vs_w1.png (eval.wasserstein), best.json, health.json
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from wganlab.config import RunConfig, from_tree
from wganlab.errors import CheckpointError
from wganlab.rundir.checkpoints import fallback_message, newest_readable, set_aside
from wganlab.rundir.lock import DirectoryLock

CONFIG_FILE = "config.yaml"
RUN_INFO_FILE = "run.json"
EVENTS_FILE = "events.jsonl"
BEST_FILE = "best.json"
HEALTH_FILE = "health.json"


def require_run_dir(run_dir: Path) -> Path:
    """``run_dir``'s config file; a directory that is not a run gets one line saying so."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"'{run_dir}' is not a wganlab run directory (no {CONFIG_FILE}); "
                              "give the directory that 'wganlab train' printed")
    return path


def load_run_config(run_dir: Path) -> RunConfig:
    """The run's config, validated as when it started."""
    import yaml

    path = require_run_dir(run_dir)
    return from_tree(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def default_run_dir(config: RunConfig, source: str) -> Path:
    """``runs/<preset>-<data>-seed<N>-<time>``: what ``wganlab train`` picks without ``--run-dir``."""
    name = Path(source).stem if source else "run"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{name}-{config.data.name}-seed{config.seed}-{stamp}"


def append_event(run_dir: Path, event: dict[str, Any]) -> None:
    """One line of the run's event log."""
    with (Path(run_dir) / EVENTS_FILE).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(event) + "\n")


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / EVENTS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def lock_run(run_dir: Path) -> DirectoryLock:
    """The run directory's lock, taken by the process that writes it (rank 0 under torchrun)."""
    return DirectoryLock(run_dir, "the training of this run").acquire()


def resume_point(run_dir: Path, is_main: bool = True) -> tuple[int, dict] | None:
    """The checkpoint to resume from. Newer ones that do not verify or load are named (stderr and the event log)
    and renamed to ``*.damaged`` by the main process, so that the resumed run cannot write over them."""
    found, skipped = newest_readable(run_dir)
    if skipped and found is not None and is_main:
        kept = [set_aside(item.path).name for item in skipped]
        message = fallback_message(skipped, found[0], kept)
        print(f"wganlab: warning: {message}", file=sys.stderr)
        append_event(run_dir, {"step": found[0], "event": "damaged checkpoint", "reason": message,
                               "set_aside": kept})
    return found
