"""Checkpoints written atomically and read without running any pickled code.

A checkpoint is written to a temporary file in the same directory, fsync'ed, then renamed over its final name,
so a crash or power loss at any moment leaves either the old or the new file, never half of one. Loading uses
``torch.load(weights_only=True)``, which refuses pickled objects other than tensors and plain containers.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from wganlab.errors import CheckpointError

CHECKPOINT_DIR = "checkpoints"
_NAME = re.compile(r"^step_(\d{8,})\.pt$")


def atomic_torch_save(obj: Any, path: Path) -> None:
    """Write ``obj`` to ``path`` so that ``path`` is always either the old file or the complete new one.

    A failed write (full disk, quota, I/O error) removes the temporary file and raises :class:`CheckpointError`;
    torch reports such failures as a bare ``RuntimeError``, so the free space is added to the message.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise CheckpointError(f"cannot create a file in '{path.parent}' ({err.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as err:
        Path(tmp).unlink(missing_ok=True)
        reason = (getattr(err, "strerror", None) or str(err).splitlines()[0])[:160]
        free = shutil.disk_usage(path.parent).free
        raise CheckpointError(f"could not write '{path.name}' ({reason}; {free / 2**20:.0f} MiB free on its disk)")\
            from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return run_dir / CHECKPOINT_DIR / f"step_{step:08d}.pt"


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of every checkpoint in ``run_dir``, oldest first."""
    folder = run_dir / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def save_checkpoint(state: dict[str, Any], run_dir: Path, step: int, keep: int) -> Path:
    """Write ``state`` as the checkpoint of ``step`` and delete all but the newest ``keep``."""
    path = checkpoint_path(run_dir, step)
    try:
        atomic_torch_save(state, path)
    except CheckpointError as err:
        previous = [s for s, _ in list_checkpoints(run_dir) if s != step]
        kept = f"the previous checkpoint (step {previous[-1]}) is intact" if previous else "no earlier checkpoint"
        raise CheckpointError(f"{err}; {kept}: free disk space, then 'wganlab train --resume {run_dir}'") from None
    for _, old in list_checkpoints(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def best_checkpoint_path(run_dir: Path) -> Path:
    """The checkpoint kept at the best value of ``best_metric``; never pruned, never taken for resuming."""
    return run_dir / CHECKPOINT_DIR / "best.pt"


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely; raises :class:`CheckpointError` for unreadable or unsafe files."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint '{path}' does not exist") from None
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, EOFError... for bad files
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"checkpoint '{path}' cannot be loaded safely ({reason[:200]}); "
                              "it is corrupt, truncated or not a wganlab checkpoint") from None


def latest_checkpoint(run_dir: Path, device: torch.device | str = "cpu") -> tuple[int, dict[str, Any]] | None:
    """The newest checkpoint that loads; a damaged newest file falls back to the one before it."""
    errors = []
    for step, path in reversed(list_checkpoints(run_dir)):
        try:
            return step, load_checkpoint(path, device)
        except CheckpointError as err:
            errors.append(str(err))
    if errors:
        raise CheckpointError(f"no readable checkpoint in '{run_dir}': {errors[0]}")
    return None
