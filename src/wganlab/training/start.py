"""Starting a run directory and resuming one: the config and run metadata written, the lock taken, the state
restored from the newest readable checkpoint."""

from __future__ import annotations

import json
import platform
import shutil
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from wganlab.config import RunConfig, save_config, with_execution_settings
from wganlab.errors import CheckpointError, ConfigError
from wganlab.machine import describe_machine
from wganlab.rundir.layout import CONFIG_FILE, RUN_INFO_FILE, append_event, load_run_config, lock_run, resume_point
from wganlab.rundir.lock import DirectoryInUse, DirectoryLock
from wganlab.rundir.log import truncate_metrics
from wganlab.training.distributed import Distributed, from_environment
from wganlab.training.optim import linear_rate
from wganlab.training.trainer import Trainer, to_device
from wganlab.version import __version__


def start_run(config: RunConfig, run_dir: Path, source: str = "", tensorboard: bool = True,
              group: Distributed | None = None) -> Trainer:
    """Create ``run_dir`` with the resolved config and run metadata and return a fresh trainer for it.

    Under torchrun, rank 0 creates the directory and every process gets the same answer (or the same error).
    """
    group = group if group is not None else from_environment()
    run_dir = Path(run_dir)
    problem, lock = None, None
    created = not run_dir.exists()  # only a directory this call makes is removed if the start fails
    if group.is_main:
        try:
            lock = lock_run(run_dir)
            if (run_dir / CONFIG_FILE).exists():
                problem = (f"run directory '{run_dir}' already holds a run; continue it with "
                           f"'wganlab train --resume {run_dir}' or choose a new --run-dir")
            else:
                save_config(config, run_dir / CONFIG_FILE)
        except DirectoryInUse as err:
            problem = str(err)
        except OSError as err:
            problem = f"cannot create run directory '{run_dir}': {err.strerror or err}"
    problem = group.broadcast_object(problem)
    if problem:
        if lock is not None:
            lock.release()
        raise CheckpointError(problem)
    try:
        trainer = _holding(lock, lambda: Trainer(config, run_dir, tensorboard=tensorboard, group=group))
    except Exception:  # a start-up failure (bad data, no GPU...) leaves nothing behind; a Ctrl-C leaves a run
        if created and group.is_main:  # that --resume starts
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    if group.is_main:
        write_run_info(trainer, source)
    trainer.checkpoint()  # step 0: a run killed before its first periodic checkpoint still resumes
    return trainer


def write_run_info(trainer: Trainer, source: str) -> None:
    """``run.json``: what sampling, export and evaluation read without the training stack (the sample shape,
    latent size, classes), and where the run came from."""
    info = {
        "wganlab": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": str(trainer.device),
        "machine": describe_machine(trainer.device),  # rounding, and so the numbers, differ between machines
        "source": source,
        "command": sys.argv,
        "latent_dim": trainer.latent_dim,
        "num_classes": trainer.num_classes,
        "sample_shape": list(trainer.data.shape),
        "parameters": {"generator": _count(trainer.generator), "discriminator": _count(trainer.discriminator)},
        "evaluation": "off" if trainer.evaluator is None else (trainer.evaluator.unavailable or "on"),
        "processes": trainer.group.world,
    }
    describe = getattr(trainer.source, "describe", None)  # a feature table: columns, classes, standardisation
    if describe is not None:
        info["table"] = describe()
    (trainer.run_dir / RUN_INFO_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")


def resume_run(run_dir: Path, steps: int | None = None, tensorboard: bool = True,
               group: Distributed | None = None, settings: dict[str, Any] | None = None) -> Trainer:
    """A trainer restored from the newest readable checkpoint of ``run_dir``.

    ``settings`` may change how the run executes (:data:`~wganlab.config.EXECUTION_KEYS`: steps, threads, device,
    precision, compile, the intervals); ``steps`` is short for ``settings={"steps": N}``. What changed is written
    to ``config.yaml`` and, with the step, to the run's event log. Any number of torchrun processes may resume any
    run: the checkpoint holds the whole (global) state.
    """
    group = group if group is not None else from_environment()
    run_dir = Path(run_dir)
    saved = load_run_config(run_dir)
    settings = {**(settings or {}), **({"steps": steps} if steps is not None else {})}
    extend = settings.pop("lr_extend", None)
    config, changed = with_execution_settings(saved, settings)
    problem, lock = None, None
    if group.is_main:
        try:
            lock = lock_run(run_dir)
        except DirectoryInUse as err:
            problem = str(err)
    problem = group.broadcast_object(problem)
    if problem:
        raise DirectoryInUse(problem)

    def restore() -> Trainer:
        found = resume_point(run_dir, group.is_main)
        group.barrier()
        step = 0 if found is None else found[0]
        nonlocal config
        config = _moved_decay(saved, config, step, extend, changed)
        trainer = Trainer(config, run_dir, tensorboard=tensorboard, resumed_at=step, group=group)
        if found is not None:  # none: killed before its step-0 checkpoint; a fresh trainer is that state exactly
            trainer.load_state_dict(to_device(found[1], trainer.device))
        if trainer.step > config.steps:
            trainer.close()
            raise ConfigError(f"'{run_dir}' is already at step {trainer.step}, past steps={config.steps}: give "
                              f"steps greater than {trainer.step} to train it longer")
        if group.is_main:
            if not (run_dir / RUN_INFO_FILE).is_file():  # interrupted while it started: written now
                write_run_info(trainer, "resumed before its run.json was written")
            truncate_metrics(run_dir, trainer.step)
            if changed:
                save_config(config, run_dir / CONFIG_FILE)
                append_event(run_dir, {"step": trainer.step, "event": "resumed with other settings",
                                        "changed": changed})
        return trainer

    trainer = _holding(lock, restore)
    group.barrier()
    return trainer


LR_EXTEND = ("replan", "stretch", "restart")


def _moved_decay(saved: RunConfig, config: RunConfig, step: int, extend: str | None,
                 changed: dict[str, list[Any]]) -> RunConfig:
    """A linear learning-rate decay whose last step a resume moves continues as the user chose: ``replan`` (the
    default: the rate the new end gives at this step, as if the run had been planned that long; a finished run's
    rate jumps back up), ``stretch`` (from the rate reached now to 0 at the new end) or ``restart`` (from the full
    rate now). The default says in one line what it does and what else there is."""
    if extend is not None and extend not in LR_EXTEND:
        raise ConfigError(f"lr_extend must be {', '.join(LR_EXTEND)}, got {extend!r}")
    if config.lr_schedule != "linear" or config.steps == saved.steps or step >= config.steps:
        return config
    now = linear_rate(step, saved.steps, saved.lr_decay_from)
    if extend in (None, "replan"):
        replanned = linear_rate(step, config.steps, saved.lr_decay_from)
        if extend is None and abs(replanned - now) > 0.005:
            print(f"wganlab: note: steps={config.steps} moves the end of the linear learning-rate decay (step "
                  f"{saved.steps}): the rate goes from {now:.0%} to {replanned:.0%} of its base at step {step}; "
                  f"lr_extend=stretch decays on from {now:.0%} instead, lr_extend=restart from the full rate",
                  file=sys.stderr)
        return config
    start = (step, now if extend == "stretch" else 1.0)
    changed["lr_decay_from"] = [saved.lr_decay_from, start]
    return replace(config, lr_decay_from=start)


def _holding(lock: DirectoryLock | None, make: Any) -> Trainer:
    """``make()``'s trainer, which from then on owns ``lock``; the lock is released if ``make`` fails."""
    try:
        trainer = make()
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    trainer.lock = lock
    return trainer


def _count(network: torch.nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())
