"""Checkpoints written atomically, checksummed, and read without running any pickled code.

A checkpoint is written to a temporary file in the same directory, fsync'ed, then renamed over its final name,
so a crash or power loss at any moment leaves either the old or the new file, never half of one. Beside it,
``NAME.pt.sha256`` records the SHA-256 of its bytes in ``sha256sum`` format (``sha256sum -c`` checks it too), so
a file damaged later (a torn copy, a bad disk, a sync tool) is named as damaged instead of being half-read.
Loading uses ``torch.load(weights_only=True)``, which refuses pickled objects other than tensors and plain
containers.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from wganlab.errors import CheckpointError

CHECKPOINT_DIR = "checkpoints"
FORMAT = 2  # the layout of a checkpoint's state; an older one is upgraded, a newer one refused by name
# Format 1 (to 2026-12-01) listed the tricks' states and the moving-average generator by hand; format 2 keeps
# every hook's state under its registry name in "hooks" and names each logged statistic in "stats".
FORMAT_1_STATS = ("d_loss", "g_loss", "wasserstein_estimate", "gradient_penalty")
FORMAT_1_TRICKS = {"pool": "image-pool", "replay": "experience-replay"}
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
        digest = file_sha256(Path(tmp))
        # the old checksum goes first: a crash before the new one is written leaves "no checksum", not a mismatch
        checksum_path(path).unlink(missing_ok=True)
        os.replace(tmp, path)
        _write_checksum(path, digest)
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


def checksum_path(path: Path) -> Path:
    """Where the SHA-256 of checkpoint ``path`` is recorded."""
    return path.with_name(path.name + ".sha256")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _write_checksum(path: Path, digest: str) -> None:
    target = checksum_path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{digest}  {path.name}\n", encoding="utf-8")
    os.replace(tmp, target)


def verify_checksum(path: Path) -> str:
    """'verified' or 'no checksum' (written before checksums, or a crash between the two files); raises
    :class:`CheckpointError` when the bytes differ from the recorded SHA-256."""
    try:
        recorded = checksum_path(path).read_text(encoding="utf-8").split()[0].lower()
    except (OSError, IndexError):
        return "no checksum"
    try:
        actual = file_sha256(path)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint '{path}' does not exist") from None
    if actual != recorded:
        raise CheckpointError(f"checkpoint '{path}' does not match its recorded SHA-256 ({recorded[:12]}..., the "
                              f"file has {actual[:12]}...): it was damaged or changed after it was written")
    return "verified"


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
        checksum_path(old).unlink(missing_ok=True)
    return path


def best_checkpoint_path(run_dir: Path) -> Path:
    """The checkpoint kept at the best value of ``best_metric``; never pruned, never taken for resuming."""
    return run_dir / CHECKPOINT_DIR / "best.pt"


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely after checking its SHA-256; raises :class:`CheckpointError` for damaged,
    unreadable or unsafe files, and for a format this wganlab does not know."""
    verify_checksum(path)
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint '{path}' does not exist") from None
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, EOFError... for bad files
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"checkpoint '{path}' cannot be loaded safely ({reason[:200]}); "
                              "it is corrupt, truncated or not a wganlab checkpoint") from None
    written = state.get("format", FORMAT) if isinstance(state, dict) else FORMAT
    if written not in range(1, FORMAT + 1):
        raise CheckpointError(f"checkpoint '{path}' has format {written!r}, and this wganlab reads formats 1 to "
                              f"{FORMAT}; use the wganlab version that wrote it (run.json names it)")
    return upgrade(state)


def upgrade(state: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's state in the current :data:`FORMAT` (a copy when it was older; unchanged otherwise)."""
    if state.get("format", FORMAT) != 1:
        return state
    state = dict(state)
    tricks = state.pop("tricks", None) or {}
    hooks = {FORMAT_1_TRICKS[name]: part for name, part in tricks.items()
             if name in FORMAT_1_TRICKS and part is not None}
    if "experience-replay" in hooks:
        hooks["experience-replay"] = {**hooks["experience-replay"], "steps": int(state.get("replay_steps", 0))}
    state.pop("replay_steps", None)
    if tricks.get("g_history") is not None or tricks.get("d_history") is not None:
        hooks["historical-averaging"] = {"generator": tricks.get("g_history"),
                                         "discriminator": tricks.get("d_history")}
    ema = state.pop("generator_ema", None)
    if ema is not None:
        hooks["ema"] = {"network": ema}
    stats = state.get("stats")
    if isinstance(stats, dict):
        state["stats"] = {"keys": list(FORMAT_1_STATS), "sums": stats["sums"], "count": stats["count"]}
    state["hooks"], state["format"] = hooks, FORMAT
    return state


def sampling_weights(state: dict[str, Any]) -> dict[str, Any]:
    """The generator weights to sample from: the moving average when the run kept one."""
    ema = (state.get("hooks") or {}).get("ema")
    return ema["network"] if ema is not None else state["generator"]


def network_weights(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every network's weights in a checkpoint state, by name."""
    networks = {name: state[name] for name in ("generator", "discriminator") if isinstance(state.get(name), dict)}
    ema = (state.get("hooks") or {}).get("ema")
    if isinstance(ema, dict) and isinstance(ema.get("network"), dict):
        networks["generator_ema"] = ema["network"]
    return networks


@dataclass(frozen=True)
class Skipped:
    """A checkpoint newer than the one used, and why it could not be."""

    step: int
    path: Path
    reason: str


def newest_readable(run_dir: Path, device: torch.device | str = "cpu"
                    ) -> tuple[tuple[int, dict[str, Any]] | None, list[Skipped]]:
    """The newest checkpoint that verifies and loads, and every newer one that did not (newest first)."""
    skipped = []
    for step, path in reversed(list_checkpoints(run_dir)):
        try:
            return (step, load_checkpoint(path, device)), skipped
        except CheckpointError as err:
            skipped.append(Skipped(step, path, str(err)))
    if skipped:
        raise CheckpointError(f"no readable checkpoint in '{run_dir}': {skipped[0].reason}")
    return None, skipped


def latest_checkpoint(run_dir: Path, device: torch.device | str = "cpu") -> tuple[int, dict[str, Any]] | None:
    """The newest checkpoint that loads; a damaged newer file is named on stderr and the one before it used."""
    found, skipped = newest_readable(run_dir, device)
    if skipped and found is not None:
        print(f"wganlab: warning: {fallback_message(skipped, found[0])}", file=sys.stderr)
    return found


def fallback_message(skipped: list[Skipped], step: int, kept_as: list[str] | None = None) -> str:
    """What a fall-back to the checkpoint of ``step`` lost, and where the damaged files are (never deleted)."""
    lost = skipped[0].step - step
    where = (f"kept as {', '.join(repr(name) for name in kept_as)}" if kept_as else
             f"{', '.join(repr(s.path.name) for s in skipped)} left in place")
    return (f"{skipped[0].reason}; using the checkpoint of step {step} instead"
            f"{f' ({lost} steps lost)' if lost > 0 else ''}; {where} for inspection")


def set_aside(path: Path) -> Path:
    """Rename a damaged checkpoint (and its checksum) to ``NAME.damaged`` so that training does not write over
    it when it reaches that step again; nothing is deleted."""
    target = path.with_name(path.name + ".damaged")
    os.replace(path, target)
    if checksum_path(path).exists():
        os.replace(checksum_path(path), checksum_path(target))
    return target


@dataclass(frozen=True)
class CheckpointReport:
    """What ``wganlab check`` says about one checkpoint file."""

    path: Path
    step: int | None
    size: int
    checksum: str  # verified, no checksum, mismatch, missing
    weights: str  # finite, not finite (NAMES), unreadable
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.checksum != "mismatch" and self.weights == "finite"


def inspect_checkpoint(path: Path) -> CheckpointReport:
    """Step, size, checksum and whether every floating-point weight of the networks is finite."""
    size = path.stat().st_size if path.exists() else 0
    match = re.match(r"step_(\d+)\.pt", path.name)
    step = int(match.group(1)) if match else None
    try:
        checksum = verify_checksum(path)
    except CheckpointError as err:
        return CheckpointReport(path, step, size, "mismatch", "unreadable", str(err))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # the same families of errors as load_checkpoint
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return CheckpointReport(path, step, size, checksum, "unreadable", first[:200])
    if not isinstance(state, dict):
        return CheckpointReport(path, step, size, checksum, "unreadable", "not a wganlab checkpoint")
    step = int(state.get("step", step if step is not None else -1))
    state = upgrade(state)
    bad = [f"{network}.{name}" for network, weights in network_weights(state).items()
           for name, tensor in weights.items()
           if torch.is_tensor(tensor) and tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]
    weights = "finite" if not bad else f"not finite ({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''})"
    return CheckpointReport(path, step, size, checksum, weights)


def human_size(size: int) -> str:
    """1.2 MiB, 880 B: file sizes as ``ls -h`` would print them."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


