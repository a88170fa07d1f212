"""The training loop: one step, then whatever logging, samples, evaluation and checkpoint fall due.

A run is composed of parts, each with one job: the step (networks, optimizers, objective, hooks:
:mod:`wganlab.training.step`), the monitor (on-device loss sums, NaN tracking, health, best checkpoint:
:mod:`wganlab.training.monitor`), the fixed-noise pictures (:mod:`wganlab.training.snapshots`), the run
directory (:mod:`wganlab.rundir.layout`, :mod:`wganlab.rundir.checkpoints`), the random streams
(:mod:`wganlab.rundir.rng_state`) and stop signals (:mod:`wganlab.training.signals`). Starting and resuming a run
directory is :mod:`wganlab.training.start`. The checkpoint is the union of the parts' state dicts.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from wganlab import plots
from wganlab.config import RunConfig
from wganlab.data.sources import DataSource, make_source
from wganlab.errors import ConfigError
from wganlab.metrics.in_training import TrainingEvaluator
from wganlab.nets.build import build_networks, check_image_size
from wganlab.rundir import rng_state as rng
from wganlab.rundir.checkpoints import FORMAT, latest_checkpoint, save_checkpoint
from wganlab.rundir.layout import append_event
from wganlab.rundir.lock import DirectoryLock
from wganlab.rundir.log import RunLog, read_metrics, truncate_metrics
from wganlab.training.distributed import Distributed, ShardedSource, from_environment
from wganlab.training.monitor import Monitor, TrainingDiverged
from wganlab.training.signals import stop_event, stop_requests
from wganlab.training.snapshots import Snapshots, fixed_real_batch
from wganlab.training.step import TrainingStep

__all__ = ["TrainResult", "Trainer", "TrainingDiverged", "pick_device"]


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    interrupted: bool


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but no CUDA GPU is visible; use device=cpu or device=auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


class Trainer:
    """Trains one run: builds its parts, runs the loop, writes what falls due, checkpoints and rolls back."""

    def __init__(self, config: RunConfig, run_dir: Path, tensorboard: bool = True,
                 data: DataSource | None = None, resumed_at: int | None = None,
                 group: Distributed | None = None) -> None:
        """``data`` replaces the source named by ``config.data`` (any object with the DataSource methods);
        ``group`` is the torchrun process group (default: the one in the environment, or a single process)."""
        self.config, self.run_dir = config, Path(run_dir)
        self.group = group if group is not None else from_environment()
        self.device = self.group.device(pick_device(config.device))
        if config.threads:
            torch.set_num_threads(config.threads)
        seed_everything(config.seed)  # the same on every process: one shared random stream, sliced per process
        check_image_size(config)  # before a folder is decoded
        self.source = data if data is not None else make_source(config.data, self.device, seed=config.seed)
        self.data = ShardedSource(self.source, self.group) if self.group.enabled else self.source
        reference = None
        if config.model.d_norm in ("virtual", "reference"):
            images, labels = fixed_real_batch(self.source, config.model.reference_batch, config, self.device)
            reference = (images.cpu(), None if labels is None else labels.cpu())
        nets = build_networks(config, self.data.shape, getattr(self.data, "num_classes", None) or 0, reference)
        self.training = TrainingStep(config, _with_sync_batch_norm(nets.generator, config, self.device).to(self.device),
                                     _with_sync_batch_norm(nets.discriminator, config, self.device).to(self.device),
                                     nets.latent_dim, nets.num_classes, self.data, self.device, self.group)
        self.snapshots = Snapshots(config, self.source, nets.latent_dim, nets.num_classes, self.device)
        self.monitor = Monitor(config, self.run_dir, self.device, self.group, bool(self.data.is_vectors))
        self.rollbacks = 0
        self.elapsed = 0.0
        evaluates = config.eval_every and self.group.is_main
        self.evaluator = TrainingEvaluator(config, nets.latent_dim, self.source, self.device) if evaluates else None
        self.log = RunLog(self.run_dir, tensorboard=tensorboard and self.group.is_main, resumed_at=resumed_at)
        self.lock: DirectoryLock | None = None  # set by start_run/resume_run on rank 0, released by close()

    # The parts' most asked-for attributes, for callers that hold a trainer (the CLI, studies, the Python API).
    step = property(lambda self: self.training.step)
    generator = property(lambda self: self.training.generator)
    discriminator = property(lambda self: self.training.discriminator)
    latent_dim = property(lambda self: self.training.latent_dim)
    num_classes = property(lambda self: self.training.num_classes)
    health = property(lambda self: self.monitor.health)
    best = property(lambda self: self.monitor.best)

    def sampling_generator(self) -> torch.nn.Module:
        return self.training.sampling_generator()

    def train_step(self) -> None:
        """One step of the composed training (``n_critic`` critic updates, one generator update)."""
        step = self.training.step
        self.monitor.add(step, self.training())

    def flush_stats(self) -> dict[str, Any]:
        """Average the accumulated losses (one host sync), add gradient norms and whatever evaluation is due,
        write and return the record."""
        training, monitor = self.training, self.monitor
        record: dict[str, Any] = {"step": self.step, **monitor.averages(), **_optimisation_record(training),
                                  "seconds": round(self.elapsed, 3)}
        monitor.check_finite(self.step, record)
        if not self.group.is_main:
            return record
        if monitor.evaluation_due(self.step) and self.evaluator is not None and self.evaluator.active:
            record.update(self.evaluator(self.sampling_generator(), self.discriminator))
        record["diversity"] = self.snapshots.diversity(self.sampling_generator())
        self.log.write(record)
        monitor.observe(record)
        monitor.keep_if_best(record, self.state_dict)
        return record

    @torch.no_grad()
    def save_samples(self) -> Path:
        """The fixed-noise samples of this step as a PNG (a grid, or a scatter plot for 2D toys)."""
        path, image = self.snapshots.save(self.sampling_generator(), self.run_dir, self.step)
        self.log.image("samples", image, self.step)
        return path

    def state_dict(self) -> dict[str, Any]:
        """The checkpoint: the union of the parts' state dicts, with the format number and the random streams."""
        return {"format": FORMAT, "elapsed": self.elapsed, "rollbacks": self.rollbacks,
                **self.training.state_dict(), **self.monitor.state_dict(), "data": self.data.state_dict(),
                "rng": rng.capture(self.device)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint's state (already upgraded to :data:`FORMAT` by the checkpoint reader)."""
        self.elapsed = float(state["elapsed"])
        self.rollbacks = int(state["rollbacks"])
        self.training.load_state_dict(state)
        self.monitor.load_state_dict(state)
        self.data.load_state_dict(state["data"])
        rng.restore(state["rng"], self.device)

    def checkpoint(self) -> Path | None:
        """Save the current state (rank 0; the others wait until it is on disk); refuses to overwrite good
        checkpoints with NaN weights."""
        self.monitor.check_finite(self.step)
        path = None
        if self.group.is_main:
            path = save_checkpoint(self.state_dict(), self.run_dir, self.step, self.config.keep_checkpoints)
        self.group.barrier()
        return path

    def roll_back(self, reason: TrainingDiverged) -> None:
        """Reload the newest checkpoint and lower both learning rates by ``divergence.lr_factor``."""
        policy = self.config.divergence
        if self.rollbacks >= policy.max_rollbacks:
            raise TrainingDiverged(f"{reason}; gave up after {self.rollbacks} rollbacks") from None
        found = latest_checkpoint(self.run_dir)
        if found is None:
            raise reason
        rollbacks = self.rollbacks + 1
        self.load_state_dict(to_device(found[1], self.device))
        self.rollbacks = rollbacks
        self.training.scale_learning_rates(policy.lr_factor)
        if not self.group.is_main:
            return
        truncate_metrics(self.run_dir, self.step)
        lr_scale = self.training.lr_scale
        append_event(self.run_dir, {"step": self.step, "event": "rollback", "reason": str(reason),
                                     "lr_scale": lr_scale})
        print(f"wganlab: {reason}; rolled back to step {self.step} with learning rates x{lr_scale:g}",
              file=sys.stderr)

    # --------------------------------------------------------------------------------------------- loop

    def run(self, stop_at: int | None = None, progress: bool = True) -> TrainResult:
        """Train to ``config.steps`` (or stop early at ``stop_at`` as if interrupted there).

        SIGINT and SIGTERM finish the current step, write a checkpoint and return, their handlers kept until then
        (a signal torchrun forwards again must not kill one process inside the checkpoint's collectives); a
        failure inside a step leaves the last periodic checkpoint, which is consistent, as the point to resume from.
        """
        config = self.config
        target = min(config.steps, stop_at) if stop_at is not None else config.steps
        bar = tqdm(total=config.steps, initial=self.step, desc=self.run_dir.name, unit="step", dynamic_ncols=True,
                   disable=not progress or not self.group.is_main, mininterval=1.0, file=sys.stderr)
        saved_at = None
        try:
            # torchrun forwards the terminal's SIGINT to its workers, so under it a second SIGINT is no abort
            with stop_requests(second_sigint_aborts=not self.group.enabled) as stop:
                while self.step < target and not self.group.any(stop.requested, self.device):
                    try:
                        saved = self._step_and_bookkeeping(bar)
                    except TrainingDiverged as reason:
                        self.monitor.flag("nan", str(reason), self.step)
                        if config.divergence.action != "rollback":
                            raise TrainingDiverged(f"{reason}; the last checkpoint is intact: lower the learning "
                                                   "rates, or set divergence.action=rollback") from None
                        self.roll_back(reason)
                        bar.reset(total=config.steps)
                        bar.update(self.step)
                        continue
                    saved_at = self.step if saved else saved_at
                interrupted = self.step < config.steps
                if interrupted and saved_at != self.step:
                    self.checkpoint()
                if self.step < target and self.group.is_main:  # the loop ended early only on a stop request
                    append_event(self.run_dir, stop_event(self.step, stop))
                self.finish()
        except BaseException:
            self.close()
            raise
        finally:
            bar.close()
        return TrainResult(self.run_dir, self.step, interrupted)

    def _step_and_bookkeeping(self, bar: tqdm) -> bool:
        """One training step, then whatever logging, samples and checkpoint fall due; True if it checkpointed."""
        config = self.config
        started = time.perf_counter()
        self.train_step()
        self.elapsed += time.perf_counter() - started
        bar.update(1)
        last = self.step == config.steps
        with self.snapshots.same_weights():  # the log's diversity and the samples: one draw of the fixed latents
            if self.step % config.log_every == 0 or last:
                bar.set_postfix(_progress(self.flush_stats(), self.monitor.active_flags), refresh=False)
            if (self.step % config.sample_every == 0 or last) and self.group.is_main:
                self.save_samples()
        if self.step % config.checkpoint_every == 0 or last:
            self.checkpoint()
            return True
        return False

    def finish(self) -> None:
        """Loss curves (and the critic against the batch W1, when measured) and the GIF of all sample frames so far;
        closes the TensorBoard writer and the lock."""
        try:
            if self.group.is_main:
                records = read_metrics(self.run_dir)
                plots.loss_curves(records, self.run_dir / "loss_curves.png", title=self.run_dir.name)
                plots.critic_vs_w1(records, self.run_dir / "critic_vs_w1.png", title=self.run_dir.name)
                frames = sorted((self.run_dir / "samples").glob("step_*.png"))
                plots.save_gif(frames, self.run_dir / "samples" / "progress.gif")
        finally:
            self.close()

    def close(self) -> None:
        """Close the logs and let another process write the run directory; the trainer cannot train after."""
        self.log.close()
        if self.lock is not None:
            self.lock.release()


# ------------------------------------------------------------------------------------------------ helpers


def _progress(record: dict[str, Any], flags: list[str]) -> dict[str, str]:
    """The progress bar's losses (and FID, and health flags) after a log step."""
    postfix = {"d": f"{record['d_loss']:.3g}", "g": f"{record['g_loss']:.3g}",
               "w": f"{record['wasserstein_estimate']:.3g}"}
    if "fid" in record:
        postfix["fid"] = f"{record['fid']:.3g}"
    if flags:
        postfix["health"] = ",".join(flags)
    return postfix


def _with_sync_batch_norm(network: torch.nn.Module, config: RunConfig, device: torch.device) -> torch.nn.Module:
    """``network`` with its batch norms over the global batch when ``sync_batch_norm`` asks (torch's own
    SyncBatchNorm, which needs CUDA; with one process it behaves as plain batch norm)."""
    if not config.sync_batch_norm:
        return network
    if device.type != "cuda":
        raise ConfigError("sync_batch_norm needs CUDA (torch's SyncBatchNorm has no CPU kernel); on CPUs each "
                          "process normalises its own shard: drop sync_batch_norm")
    return torch.nn.SyncBatchNorm.convert_sync_batchnorm(network)


def to_device(state: Any, device: torch.device) -> Any:
    """Checkpoints load on the CPU (RNG states must stay there); move the rest where training runs."""
    if device.type == "cpu":
        return state
    if isinstance(state, torch.Tensor):
        return state if state.dtype == torch.uint8 else state.to(device)
    if isinstance(state, dict):
        return {k: (v if k == "rng" else to_device(v, device)) for k, v in state.items()}
    if isinstance(state, list):
        return [to_device(v, device) for v in state]
    return state


def _optimisation_record(training: TrainingStep) -> dict[str, Any]:
    """What a log line says of the optimisation itself: gradient norms, learning rates, critic updates so far."""
    return {"d_grad_norm": _grad_norm(training.discriminator), "g_grad_norm": _grad_norm(training.generator),
            "lr_g": training.g_optimizer.param_groups[0]["lr"], "lr_d": training.d_optimizer.param_groups[0]["lr"],
            "critic_updates": training.critic_updates}


def _grad_norm(network: torch.nn.Module) -> float:
    grads = [p.grad for p in network.parameters() if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))
