"""The training loop: critic updates, a generator update, and bookkeeping every N steps.

Nothing here branches on a model's name: a GAN, a DCGAN and the three WGANs differ only in the objective, the
Lipschitz method and the schedule their config composes. Losses are accumulated on the device and read once
every ``log_every`` steps, so the loop never waits for the device in between.
"""

from __future__ import annotations

import copy
import functools
import json
import platform
import random
import sys
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from wganlab import __version__, plots, rng
from wganlab.checkpoint import (
    FORMAT,
    atomic_torch_save,
    best_checkpoint_path,
    latest_checkpoint,
    save_checkpoint,
)
from wganlab.config import RunConfig, save_config, with_execution_settings
from wganlab.data import DataSource, make_source
from wganlab.data.images import to_float, to_uint8
from wganlab.diagnostics import WINDOW, health_flags, sample_diversity
from wganlab.distributed import Distributed, ShardedSource, from_environment
from wganlab.engine import NetworkRunner
from wganlab.errors import CheckpointError, ConfigError, WganlabError
from wganlab.fileio import isolated_rng, write_json_atomic
from wganlab.lipschitz import clip_weights_, gradient_penalty, has_batch_coupling, interpolation_weights
from wganlab.metrics.during import TrainingEvaluator
from wganlab.nets import build_networks, eval_mode
from wganlab.objectives import make_objective
from wganlab.optim import make_lr_schedule, make_optimizer
from wganlab.rundir import (
    BEST_FILE,
    CONFIG_FILE,
    HEALTH_FILE,
    RUN_INFO_FILE,
    append_event,
    load_run_config,
    lock_run,
    resume_point,
)
from wganlab.runlock import DirectoryInUse, DirectoryLock
from wganlab.runlog import RunLog, read_metrics, truncate_metrics
from wganlab.schedule import CriticSchedule
from wganlab.signals import stop_requests
from wganlab.tricks.averaging import HistoricalAverage
from wganlab.tricks.labels import LabelTargets
from wganlab.tricks.replay import ImagePool, ReplayBuffer, default_replay_every

GRID_SAMPLES = 64
GRID_COLUMNS = 8
TOY_SAMPLES = 1000
STAT_KEYS = ("d_loss", "g_loss", "wasserstein_estimate", "gradient_penalty")


class TrainingDiverged(WganlabError):
    """A loss or gradient became NaN or infinite."""


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
    """Owns the networks, optimizers and data of one run and trains it step by step."""

    def __init__(self, config: RunConfig, run_dir: Path, tensorboard: bool = True,
                 data: DataSource | None = None, resumed_at: int | None = None,
                 group: Distributed | None = None) -> None:
        """``data`` replaces the source named by ``config.data`` (any object with the DataSource methods);
        ``group`` is the torchrun process group (default: the one in the environment, or a single process)."""
        self.config = config
        self.run_dir = Path(run_dir)
        self.group = group if group is not None else from_environment()
        self.device = self.group.device(pick_device(config.device))
        if config.threads:
            torch.set_num_threads(config.threads)
        seed_everything(config.seed)  # the same on every process: one shared random stream, sliced per process
        self.source = data if data is not None else make_source(config.data, self.device, seed=config.seed)
        self.data = ShardedSource(self.source, self.group) if self.group.enabled else self.source
        if self.group.enabled and config.tricks.replay.mode != "none":
            raise ConfigError("tricks.replay keeps one process's past fakes, so it cannot be split over torchrun "
                              "processes; train it in a single process")
        num_classes = getattr(self.data, "num_classes", None) or 0
        reference = None
        if config.model.d_norm in ("virtual", "reference"):
            reference = self._fixed_real_batch(config.model.reference_batch)
            reference = (reference[0].cpu(), None if reference[1] is None else reference[1].cpu())
        nets = build_networks(config, self.data.shape, num_classes, reference)
        self.latent_dim = nets.latent_dim
        self.num_classes = nets.num_classes  # > 0: a conditional model
        self.generator = _with_sync_batch_norm(nets.generator, config, self.device).to(self.device)
        self.discriminator = _with_sync_batch_norm(nets.discriminator, config, self.device).to(self.device)
        runner = functools.partial(NetworkRunner, device=self.device, precision=config.precision,
                                   channels_last=config.channels_last, compile_mode=config.compile)
        self.run_generator, self.run_critic = runner(self.generator), runner(self.discriminator)
        if config.lipschitz.clip > 0:  # Arjovsky et al. clamp before the first critic step too
            clip_weights_(self.discriminator, config.lipschitz.clip)
        self.generator_ema = copy.deepcopy(self.generator).eval() if config.ema > 0 else None
        if self.generator_ema is not None:
            self.generator_ema.requires_grad_(False)
        self.objective = make_objective(config.objective)
        tricks = config.tricks
        self.label_targets = LabelTargets(tricks.labels)
        every = tricks.replay.every or default_replay_every(_dataset_size(self.data), config.resolved_batch_size)
        self.replay = ReplayBuffer(every) if tricks.replay.mode == "step" else None
        self.pool = ImagePool(tricks.replay.pool_size, tricks.replay.pool_share) if tricks.replay.mode == "pool" \
            else None
        averaging = tricks.historical_averaging
        self.g_history = HistoricalAverage(self.generator, averaging.generator) if averaging.generator else None
        self.d_history = HistoricalAverage(self.discriminator, averaging.discriminator) if averaging.discriminator \
            else None
        self.schedule = CriticSchedule(config.critic_steps, config.critic_burst, config.critic_burst_steps)
        self.g_params, self.d_params = list(self.generator.parameters()), list(self.discriminator.parameters())
        self.g_optimizer = make_optimizer(self.g_params, config.g_optimizer)
        self.d_optimizer = make_optimizer(self.d_params, config.d_optimizer)
        self.lr_scale = 1.0  # lowered by divergence rollbacks; part of the checkpoint
        self.rollbacks = 0
        self.g_lr = make_lr_schedule(self.g_optimizer, config.lr_schedule, config.steps, lambda: self.lr_scale)
        self.d_lr = make_lr_schedule(self.d_optimizer, config.lr_schedule, config.steps, lambda: self.lr_scale)
        self.batch_size = self.group.local_batch(config.resolved_batch_size)  # this process's share
        # One critic pass over cat(real, fake) is exact only when samples do not interact (no batch norm).
        self.joint_critic_pass = not has_batch_coupling(self.discriminator)
        noise_rng = torch.Generator().manual_seed(config.seed + 1)
        count = TOY_SAMPLES if self.data.is_toy else GRID_SAMPLES
        if self.num_classes:  # one row of 8 per class in the sample grids
            count = GRID_COLUMNS * self.num_classes
        self.fixed_noise = torch.randn(count, self.latent_dim, generator=noise_rng).to(self.device)
        self.fixed_labels = None if not self.num_classes else \
            torch.arange(self.num_classes, device=self.device).repeat_interleave(GRID_COLUMNS)
        self.real_diversity = sample_diversity(self._reference_batch(min(count, 256)))
        self.health: dict[str, dict[str, Any]] = {}
        self.step = 0
        self.critic_updates = 0
        self.replay_steps = 0
        self.elapsed = 0.0
        self._sums = torch.zeros(len(STAT_KEYS), device=self.device)
        self._count = 0
        # The first step whose losses were not finite, and which were not: tracked on the device every step
        # and read only when logging or checkpointing, so a NaN is named exactly without a per-step sync.
        self._first_bad_step = torch.full((), -1, dtype=torch.long, device=self.device)
        self._first_bad_keys = torch.zeros(len(STAT_KEYS), dtype=torch.bool, device=self.device)
        self.best: dict[str, Any] = {"value": None, "step": None}
        self.active_flags: list[str] = []
        self._recent: deque[dict[str, Any]] = deque(maxlen=WINDOW)
        evaluates = config.eval_every and self.group.is_main
        self.evaluator = TrainingEvaluator(config, self.latent_dim, self.source, self.device) if evaluates else None
        self.log = RunLog(self.run_dir, tensorboard=tensorboard and self.group.is_main, resumed_at=resumed_at)
        self.lock: DirectoryLock | None = None  # set by start_run/resume_run on rank 0, released by close()

    # ------------------------------------------------------------------------------------------ updates

    def critic_update(self, real: torch.Tensor,
                      labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One critic/discriminator step; returns (loss, Wasserstein estimate, penalty), still on the device.

        A conditional model's fakes are drawn for the real batch's labels (so the penalty's interpolates share
        them too); with an image pool, some fakes are past ones with their own labels.
        """
        lipschitz = self.config.lipschitz
        gp = lipschitz.gradient_penalty
        with torch.no_grad():
            fake = self.generate(real.shape[0], labels)
        fake_labels = labels
        if self.pool is not None:
            fake, fake_labels = self.pool.query(fake, labels)
        n = real.shape[0]
        if self.joint_critic_pass:
            both = None if labels is None else torch.cat([labels, fake_labels])
            out = self.critic(torch.cat([real, fake]), both).flatten()
            real_out, fake_out = out[:n], out[n:]
        else:
            real_out, fake_out = self.critic(real, labels).flatten(), self.critic(fake, fake_labels).flatten()
        # The penalty gets its own pass: inside a joint pass its double backward would run over all 3n samples.
        penalty = torch.zeros((), device=self.device)
        if gp.weight > 0:
            alpha = self.group.shard(n, lambda m: interpolation_weights(m, real))
            penalty = gradient_penalty(lambda x: self.critic(x, labels, eager=True), real, fake, gp.target,
                                       gp.one_sided, alpha)
        targets = () if self.label_targets.plain else self.group.shard(n, lambda m: self.label_targets(m, m,
                                                                                                   self.device))
        loss = self.objective.critic_loss(real_out, fake_out, *targets) + gp.weight * penalty
        self._discriminator_step(loss)
        if self.replay is not None and self.replay.keep_one(fake, fake_labels):
            self._replay_step()
        estimate = real_out.detach().mean() - fake_out.detach().mean()
        return loss.detach(), estimate, penalty.detach()

    def _discriminator_step(self, loss: torch.Tensor) -> None:
        if self.d_history is not None:
            loss = loss + self.d_history.penalty()
        self._optimizer_step(loss, self.d_optimizer, self.d_params)
        if self.config.lipschitz.clip > 0:
            clip_weights_(self.discriminator, self.config.lipschitz.clip)
        if self.d_history is not None:
            self.d_history.update()

    def _optimizer_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer,
                        params: list[torch.nn.Parameter]) -> None:
        """Backward, gradients averaged over the torchrun processes, one update: the same for both networks."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.group.average_gradients(params)
        optimizer.step()

    def _replay_step(self) -> None:
        """Experience replay: one extra discriminator step on the kept past fakes, as fakes (guide §4.2)."""
        images, labels = self.replay.drain()
        fake_out = self.critic(images, labels).flatten()
        target = () if self.label_targets.plain else (self.label_targets(0, len(fake_out), self.device)[1],)
        self._discriminator_step(self.objective.fake_loss(fake_out, *target))
        self.critic_updates += 1
        self.replay_steps += 1

    def generator_update(self) -> torch.Tensor:
        """One generator step against the current critic, whose parameters are frozen meanwhile."""
        labels = self.random_labels(self.batch_size)
        fake = self.generate(self.batch_size, labels)
        self.discriminator.requires_grad_(False)
        matching = self.config.tricks.feature_matching
        if matching != "none":  # Salimans et al. §3.1: match the mean discriminator features of real data
            real, real_labels = self.real_batch()
            with torch.no_grad():
                target = self.run_critic.call(self.discriminator.features, real, real_labels, matching).mean(0)
            fake_features = self.run_critic.call(self.discriminator.features, fake, labels, matching)
            loss = feature_matching_loss(fake_features, target)
        else:
            loss = self.objective.generator_loss(self.critic(fake, labels).flatten())
        if self.g_history is not None:
            loss = loss + self.g_history.penalty()
        self._optimizer_step(loss, self.g_optimizer, self.g_params)
        self.discriminator.requires_grad_(True)
        if self.g_history is not None:
            self.g_history.update()
        if self.generator_ema is not None:
            self._update_ema()
        return loss.detach()

    def critic(self, x: torch.Tensor, labels: torch.Tensor | None = None, eager: bool = False) -> torch.Tensor:
        """The critic's scores in float32 (``eager``: uncompiled, for the penalty's double backward)."""
        return self.run_critic(x, eager=eager) if labels is None else self.run_critic(x, labels, eager=eager)

    def generate(self, n: int, labels: torch.Tensor | None = None, generator: torch.nn.Module | None = None,
                 z: torch.Tensor | None = None) -> torch.Tensor:
        network = self.run_generator if generator is None else generator
        if z is None:
            z = self.group.shard(n, lambda m: torch.randn(m, self.latent_dim, device=self.device))
        return network(z) if labels is None else network(z, labels)

    def random_labels(self, n: int) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        return self.group.shard(n, lambda m: torch.randint(self.num_classes, (m,), device=self.device))

    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A fresh real batch, with its labels when the model is conditional."""
        if self.num_classes:
            return self.data.sample_with_labels(self.batch_size)
        return self.data.sample(self.batch_size), None

    @torch.no_grad()
    def _update_ema(self) -> None:
        # Warm-up as in Karras et al.'s implementations: early on, the average must not be dominated by init.
        decay = min(self.config.ema, (1 + self.step) / (10 + self.step))
        ema_params = list(self.generator_ema.parameters())
        torch._foreach_lerp_(ema_params, list(self.generator.parameters()), 1.0 - decay)
        for ema_buffer, buffer in zip(self.generator_ema.buffers(), self.generator.buffers(), strict=True):
            ema_buffer.copy_(buffer)

    def train_step(self) -> None:
        """``n_critic`` critic updates on fresh real batches, then one generator update."""
        d_loss = estimate = penalty = None
        updates = self.schedule.steps_before(self.step)
        for _ in range(updates):
            d_loss, estimate, penalty = self.critic_update(*self.real_batch())
        g_loss = self.generator_update()
        self.g_lr.step()
        self.d_lr.step()
        values = torch.stack([d_loss, g_loss, estimate, penalty])
        self._sums += values
        self._count += 1
        bad = ~torch.isfinite(values)
        first = (self._first_bad_step < 0) & bad.any()
        self._first_bad_step = torch.where(first, self.step, self._first_bad_step)
        self._first_bad_keys = torch.where(first, bad, self._first_bad_keys)
        self.critic_updates += updates
        self.step += 1

    # -------------------------------------------------------------------------------------- bookkeeping

    def flush_stats(self) -> dict[str, Any]:
        """Average the accumulated losses (one host sync), add gradient norms, write and return the record."""
        values = (self.group.mean(self._sums) / max(self._count, 1)).tolist()
        record: dict[str, Any] = {"step": self.step, **dict(zip(STAT_KEYS, values, strict=True))}
        record["d_grad_norm"] = _grad_norm(self.discriminator)
        record["g_grad_norm"] = _grad_norm(self.generator)
        record["lr_g"] = self.g_optimizer.param_groups[0]["lr"]
        record["lr_d"] = self.d_optimizer.param_groups[0]["lr"]
        record["critic_updates"] = self.critic_updates
        record["seconds"] = round(self.elapsed, 3)
        self._sums.zero_()
        self._count = 0
        self.check_finite(record)
        if not self.group.is_main:
            return record
        every, previous_log = self.config.eval_every, (self.step - 1) // self.config.log_every * self.config.log_every
        due = every and (self.step // every > previous_log // every or self.step == self.config.steps)
        if due and self.evaluator is not None and self.evaluator.active:
            record.update(self.evaluator(self.sampling_generator()))
        record["diversity"] = round(self._fixed_noise_diversity() / max(self.real_diversity, 1e-12), 4)
        self.log.write(record)
        self._recent.append(record)
        self._update_health()
        self._keep_if_best(record)
        return record

    def _reference_batch(self, n: int) -> torch.Tensor:
        """Real samples for the diversity baseline, drawn without touching training's RNG or data order."""
        return self._fixed_real_batch(n)[0]

    def _fixed_real_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The same ``n`` real samples (and labels) for a seed, drawn without touching training's RNG or data
        order: the diversity baseline and the virtual-batch-norm reference batch."""
        images = getattr(self.source, "images", None)
        if images is not None:
            index = torch.randperm(len(images), generator=torch.Generator().manual_seed(self.config.seed))[:n]
            labels = getattr(self.source, "labels", None)
            return (to_float(images[index.to(images.device)], self.config.data.pixel_range),
                    None if labels is None else labels[index.to(labels.device)])
        with isolated_rng(self.config.seed + 4, self.device):
            return self.source.sample(n), None  # the whole draw, on every process

    @torch.no_grad()
    def _fixed_samples(self, n: int | None = None) -> torch.Tensor:
        """The sampling generator's output (in eval mode) for the first ``n`` fixed latents (and labels)."""
        labels = None if self.fixed_labels is None else self.fixed_labels[:n]
        with eval_mode(self.sampling_generator()) as generator:
            return self.generate(0, labels, generator, self.fixed_noise[:n])

    def _fixed_noise_diversity(self) -> float:
        return sample_diversity(self._fixed_samples(256))

    def _flag(self, kind: str, message: str) -> None:
        self.health.setdefault(kind, {"first_step": self.step, "message": message})
        write_json_atomic(self.run_dir / HEALTH_FILE, self.health)

    def _update_health(self) -> None:
        """Record newly raised training-health flags in ``health.json`` (first step and message of each)."""
        active = health_flags(list(self._recent), self.config.objective)
        for kind, message in active.items():
            if kind not in self.health:
                self._flag(kind, message)
        self.active_flags = sorted(active)

    def _keep_if_best(self, record: dict[str, Any]) -> None:
        metric = self.config.best_metric
        if metric == "auto":  # the run's own quality measure, when it is evaluated during training
            metric = "w1" if self.data.is_toy else "fid"
        if metric is None or record.get(metric) is None:
            return
        if self.best["value"] is None or record[metric] < self.best["value"]:
            self.best = {"value": float(record[metric]), "step": self.step, "metric": metric}
            atomic_torch_save(self.state_dict(), best_checkpoint_path(self.run_dir))
            write_json_atomic(self.run_dir / BEST_FILE, self.best)

    def check_finite(self, record: dict[str, Any] | None = None) -> None:
        """Raise :class:`TrainingDiverged` naming the first step and quantity that went NaN or infinite."""
        first = int(self._first_bad_step)
        if self.group.any(first >= 0, self.device):  # every process raises, so none waits for the others
            if first < 0:
                raise TrainingDiverged(f"a loss became NaN or infinite on another process by step {self.step}")
            keys = [k for k, bad in zip(STAT_KEYS, self._first_bad_keys.tolist(), strict=True) if bad]
            raise TrainingDiverged(f"{keys[0]} became NaN or infinite at step {first + 1}")
        for key in ("d_grad_norm", "g_grad_norm"):
            if record is not None and not np.isfinite(record[key]):
                raise TrainingDiverged(f"{key} became {record[key]} at step {self.step}")

    def sampling_generator(self) -> torch.nn.Module:
        return self.generator_ema if self.generator_ema is not None else self.generator

    @torch.no_grad()
    def save_samples(self) -> Path:
        """The fixed-noise samples of this step as a PNG (a grid, or a scatter plot for 2D toys)."""
        out = self._fixed_samples().float().cpu()
        if self.data.is_toy:
            reference = self._reference_batch(TOY_SAMPLES).cpu().numpy()  # leaves training's RNG untouched
            image = plots.points_figure(out.numpy(), reference, title=f"step {self.step}")
        else:
            image = plots.image_grid(to_uint8(out, self.config.data.pixel_range).numpy(), columns=GRID_COLUMNS)
        path = self.run_dir / "samples" / f"step_{self.step:08d}.png"
        plots.save_png(image, path)
        self.log.image("samples", image, self.step)
        return path

    def state_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "step": self.step,
            "critic_updates": self.critic_updates,
            "elapsed": self.elapsed,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "generator_ema": None if self.generator_ema is None else self.generator_ema.state_dict(),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "g_lr": self.g_lr.state_dict(),
            "d_lr": self.d_lr.state_dict(),
            "data": self.data.state_dict(),
            "stats": {"sums": self._sums.clone(), "count": self._count},
            "lr_scale": self.lr_scale,
            "rollbacks": self.rollbacks,
            "best": dict(self.best),
            "health": {k: dict(v) for k, v in self.health.items()},
            "tricks": {name: None if part is None else part.state_dict() for name, part in self._trick_parts().items()},
            "replay_steps": self.replay_steps,
            "rng": rng.capture(self.device),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.critic_updates = int(state["critic_updates"])
        self.elapsed = float(state["elapsed"])
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        if self.generator_ema is not None and state["generator_ema"] is not None:
            self.generator_ema.load_state_dict(state["generator_ema"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        self.g_lr.load_state_dict(state["g_lr"])
        self.d_lr.load_state_dict(state["d_lr"])
        self.data.load_state_dict(state["data"])
        self._sums.copy_(state["stats"]["sums"])
        self._count = int(state["stats"]["count"])
        self.lr_scale = float(state["lr_scale"])
        self.rollbacks = int(state["rollbacks"])
        self.best = dict(state["best"])
        self.health = {k: dict(v) for k, v in state["health"].items()}
        for name, part in self._trick_parts().items():
            saved = state.get("tricks", {}).get(name)
            if part is not None and saved is not None:
                part.load_state_dict(_to_device(saved, self.device))
        self.replay_steps = int(state.get("replay_steps", 0))
        self._first_bad_step.fill_(-1)
        self._first_bad_keys.zero_()
        rng.restore(state["rng"], self.device)

    def _trick_parts(self) -> dict[str, Any]:
        return {"replay": self.replay, "pool": self.pool, "g_history": self.g_history, "d_history": self.d_history}

    def checkpoint(self) -> Path | None:
        """Save the current state (rank 0; the others wait until it is on disk); refuses to overwrite good
        checkpoints with NaN weights."""
        self.check_finite()
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
        self.load_state_dict(_to_device(found[1], self.device))
        self.rollbacks = rollbacks
        self.lr_scale *= policy.lr_factor
        for schedule in (self.g_lr, self.d_lr):
            for group, factor in zip(schedule.optimizer.param_groups, schedule.base_lrs, strict=True):
                group["lr"] = factor * schedule.lr_lambdas[0](schedule.last_epoch)
        if not self.group.is_main:
            return
        truncate_metrics(self.run_dir, self.step)
        append_event(self.run_dir, {"step": self.step, "event": "rollback", "reason": str(reason),
                                     "lr_scale": self.lr_scale})
        print(f"wganlab: {reason}; rolled back to step {self.step} with learning rates x{self.lr_scale:g}",
              file=sys.stderr)

    # --------------------------------------------------------------------------------------------- loop

    def run(self, stop_at: int | None = None, progress: bool = True) -> TrainResult:
        """Train to ``config.steps`` (or stop early at ``stop_at`` as if interrupted there).

        SIGINT and SIGTERM finish the current step, write a checkpoint and return; a failure inside a step
        leaves the last periodic checkpoint, which is consistent, as the point to resume from.
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
                        self._flag("nan", str(reason))
                        if config.divergence.action != "rollback":
                            raise TrainingDiverged(f"{reason}; the last checkpoint is intact: lower the learning "
                                                   "rates, or set divergence.action=rollback") from None
                        self.roll_back(reason)
                        bar.reset(total=config.steps)
                        bar.update(self.step)
                        continue
                    saved_at = self.step if saved else saved_at
        except BaseException:
            self.close()
            raise
        finally:
            bar.close()
        interrupted = self.step < config.steps
        if interrupted and saved_at != self.step:
            self.checkpoint()
        self.finish()
        return TrainResult(self.run_dir, self.step, interrupted)

    def _step_and_bookkeeping(self, bar: tqdm) -> bool:
        """One training step, then whatever logging, samples and checkpoint fall due; True if it checkpointed."""
        config = self.config
        started = time.perf_counter()
        self.train_step()
        self.elapsed += time.perf_counter() - started
        bar.update(1)
        last = self.step == config.steps
        if self.step % config.log_every == 0 or last:
            record = self.flush_stats()
            postfix = {"d": f"{record['d_loss']:.3g}", "g": f"{record['g_loss']:.3g}",
                       "w": f"{record['wasserstein_estimate']:.3g}"}
            if "fid" in record:
                postfix["fid"] = f"{record['fid']:.3g}"
            if self.active_flags:
                postfix["health"] = ",".join(self.active_flags)
            bar.set_postfix(postfix, refresh=False)
        if (self.step % config.sample_every == 0 or last) and self.group.is_main:
            self.save_samples()
        if self.step % config.checkpoint_every == 0 or last:
            self.checkpoint()
            return True
        return False

    def finish(self) -> None:
        """Loss curves and the GIF of all sample frames so far; closes the TensorBoard writer and the lock."""
        try:
            if self.group.is_main:
                records = read_metrics(self.run_dir)
                plots.loss_curves(records, self.run_dir / "loss_curves.png", title=self.run_dir.name)
                frames = sorted((self.run_dir / "samples").glob("step_*.png"))
                plots.save_gif(frames, self.run_dir / "samples" / "progress.gif")
        finally:
            self.close()

    def close(self) -> None:
        """Close the logs and let another process write the run directory; the trainer cannot train after."""
        self.log.close()
        if self.lock is not None:
            self.lock.release()


# ---------------------------------------------------------------------------------------- run directories


def start_run(config: RunConfig, run_dir: Path, source: str = "", tensorboard: bool = True,
              group: Distributed | None = None) -> Trainer:
    """Create ``run_dir`` with the resolved config and run metadata and return a fresh trainer for it.

    Under torchrun, rank 0 creates the directory and every process gets the same answer (or the same error).
    """
    group = group if group is not None else from_environment()
    run_dir = Path(run_dir)
    problem, lock = None, None
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
    trainer = _holding(lock, lambda: Trainer(config, run_dir, tensorboard=tensorboard, group=group))
    info = {
        "wganlab": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": str(trainer.device),
        "source": source,
        "command": sys.argv,
        "latent_dim": trainer.latent_dim,
        "num_classes": trainer.num_classes,
        "sample_shape": list(trainer.data.shape),
        "parameters": {"generator": _count(trainer.generator), "discriminator": _count(trainer.discriminator)},
        "evaluation": "off" if trainer.evaluator is None else (trainer.evaluator.unavailable or "on"),
        "processes": group.world,
    }
    if group.is_main:
        (run_dir / RUN_INFO_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
    trainer.checkpoint()  # step 0: a run killed before its first periodic checkpoint still resumes
    return trainer


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
    config = load_run_config(run_dir)
    settings = {**(settings or {}), **({"steps": steps} if steps is not None else {})}
    config, changed = with_execution_settings(config, settings)
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
        trainer = Trainer(config, run_dir, tensorboard=tensorboard, resumed_at=step, group=group)
        if found is not None:  # none: killed before its step-0 checkpoint; a fresh trainer is that state exactly
            trainer.load_state_dict(_to_device(found[1], trainer.device))
        if group.is_main:
            truncate_metrics(run_dir, trainer.step)
            if changed:
                save_config(config, run_dir / CONFIG_FILE)
                append_event(run_dir, {"step": trainer.step, "event": "resumed with other settings",
                                        "changed": changed})
        return trainer

    trainer = _holding(lock, restore)
    group.barrier()
    return trainer


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


# ------------------------------------------------------------------------------------------------ helpers


def _with_sync_batch_norm(network: torch.nn.Module, config: RunConfig, device: torch.device) -> torch.nn.Module:
    """``network`` with its batch norms over the global batch when ``sync_batch_norm`` asks (torch's own
    SyncBatchNorm, which needs CUDA; with one process it behaves as plain batch norm)."""
    if not config.sync_batch_norm:
        return network
    if device.type != "cuda":
        raise ConfigError("sync_batch_norm needs CUDA (torch's SyncBatchNorm has no CPU kernel); on CPUs each "
                          "process normalises its own shard: drop sync_batch_norm")
    return torch.nn.SyncBatchNorm.convert_sync_batchnorm(network)


def _dataset_size(data: Any) -> int | None:
    images = getattr(data, "images", None)
    return None if images is None else len(images)


def feature_matching_loss(fake_features: torch.Tensor, real_mean: torch.Tensor) -> torch.Tensor:
    """Squared distance between mean features, per feature (Salimans et al.'s ‖E f(x) − E f(G(z))‖² / d)."""
    return ((fake_features.mean(0) - real_mean) ** 2).mean()


def _to_device(state: Any, device: torch.device) -> Any:
    """Checkpoints load on the CPU (RNG states must stay there); move the rest where training runs."""
    if device.type == "cpu":
        return state
    if isinstance(state, torch.Tensor):
        return state if state.dtype == torch.uint8 else state.to(device)
    if isinstance(state, dict):
        return {k: (v if k == "rng" else _to_device(v, device)) for k, v in state.items()}
    if isinstance(state, list):
        return [_to_device(v, device) for v in state]
    return state


def _grad_norm(network: torch.nn.Module) -> float:
    grads = [p.grad for p in network.parameters() if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))


def _count(network: torch.nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())
