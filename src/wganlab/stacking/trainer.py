"""Training S seeds as one stacked model, each seed still an ordinary run.

Every seed is started (or resumed) as the ordinary run it would be alone — its own run directory, config,
initial weights drawn from its own seed, data order from its own source, fixed latents, evaluator and monitor —
by :func:`wganlab.training.start.start_run`. Their networks are then joined into one stacked model
(:mod:`wganlab.stacking.layers`) and trained by the ordinary :class:`~wganlab.training.step.TrainingStep`, whose losses
are one per seed (:mod:`wganlab.stacking.axis`). Whenever a seed's run must write something — its losses,
samples, evaluations, checkpoints — the stacked state is split into that seed's ordinary state first, so what
lands in each run directory is an ordinary run's, and each seed can be sampled, evaluated or resumed alone.

What differs from S separate runs: the latents and penalty weights of the S seeds come from one random stream
(each seed's own data order and initialisation do not), so a seed's trajectory is not bit-identical to the run
trained alone from the same seed; each step is (``tests/stacking``). A seed whose loss turns NaN is retired with
its last checkpoint intact and the others go on. The "seconds" each seed logs are the stack's.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from tqdm import tqdm

from wganlab.config import RunConfig
from wganlab.fileio import read_json, write_json_atomic
from wganlab.registry import ARCHITECTURES, HOOKS
from wganlab.rundir.layout import RUN_INFO_FILE, append_event
from wganlab.stacking.axis import SeedAxis
from wganlab.stacking.layers import NotStackable, stacked_shell
from wganlab.stacking.state import join_optimizer_states, join_states, split_optimizer_state, split_state, split_tensor
from wganlab.training.hooks import build_hook
from wganlab.training.monitor import TrainingDiverged
from wganlab.training.signals import stop_event, stop_requests
from wganlab.training.step import TrainingStep
from wganlab.training.trainer import Trainer, TrainResult

OPTIMIZERS = {"g_optimizer": "g_params", "d_optimizer": "d_params"}


def stacking_refusal(config: RunConfig) -> str | None:
    """Why runs of ``config`` cannot train stacked (None when they can), naming what is in the way. The networks
    are checked when the stack is built (:class:`NotStackable`)."""
    if not ARCHITECTURES.can(config.model.arch, "stackable"):
        return f"arch={config.model.arch}'s layers (residual blocks) have no stacked form yet"
    if config.conditioning.mode != "none":
        return "conditional models are not stacked yet"
    if config.divergence.action == "rollback":
        return "divergence.action=rollback reloads one run's checkpoint, which a stack cannot do for one seed"
    if "virtual" in (config.model.g_norm, config.model.d_norm) or "reference" in (config.model.g_norm,
                                                                                   config.model.d_norm):
        return "virtual batch norm couples each batch with a reference batch, which is not stacked yet"
    if config.sync_batch_norm:
        return "sync_batch_norm is a torchrun setting; a stack runs in one process"
    if config.headed_discriminator:
        return ("a discriminator head (minibatch discrimination, a dense layer before the output, conditioning) "
                "is not stacked yet")
    unstackable = []
    with torch.random.fork_rng(devices=[]):  # the probe's networks must not move the run's random stream
        probe = SimpleNamespace(generator=torch.nn.Linear(1, 1), discriminator=torch.nn.Linear(1, 1), step=0,
                                device=torch.device("cpu"), batch_size=1, processes=1, dataset_size=1)
        for name in HOOKS.names():
            try:
                wanted = build_hook(name, config, probe) is not None
            except Exception:  # a hook that needs more of a step than the probe has: it is switched on
                wanted = True
            if wanted and not HOOKS.can(name, "stackable"):
                unstackable.append(name)
    if unstackable:
        return (f"{', '.join(unstackable)} {'couples' if len(unstackable) == 1 else 'couple'} the samples of a "
                "batch in a way that is not stacked yet")
    return None


class StackedSource:
    """The seeds' own data sources as one: ``sample(S*B)`` is each seed's next ``B`` rows, seed-major."""

    def __init__(self, sources: Sequence[Any]) -> None:
        self.sources = list(sources)

    def sample(self, batch_size: int) -> torch.Tensor:
        rows = batch_size // len(self.sources)
        return torch.cat([source.sample(rows) for source in self.sources])

    def sample_with_labels(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        rows = batch_size // len(self.sources)
        parts = [source.sample_with_labels(rows) for source in self.sources]
        return torch.cat([images for images, _ in parts]), torch.cat([labels for _, labels in parts])

    def __getattr__(self, name: str) -> Any:  # shape, is_vectors, images: the same data for every seed
        return getattr(self.sources[0], name)


def stack_network(networks: Sequence[torch.nn.Module]) -> torch.nn.Module:
    """The stacked form of ``networks`` (same architecture, one per seed), holding their weights and buffers."""
    stacked = stacked_shell(networks[0], len(networks))
    template = stacked.state_dict()
    stacked.load_state_dict(join_states([network.state_dict() for network in networks], template))
    return stacked.train(networks[0].training)


class StackedTrainer:
    """Trains the runs of ``trainers`` (ordinary trainers of the same config but the seed, all at the same step)
    as one stacked model; each keeps writing its own run directory."""

    def __init__(self, trainers: Sequence[Trainer]) -> None:
        self.trainers = list(trainers)
        first = self.trainers[0]
        steps = sorted({trainer.step for trainer in self.trainers})
        if len(steps) > 1:
            raise NotStackable(f"the runs to stack are at different steps ({', '.join(map(str, steps))}): resume "
                               "them separately")
        refusal = stacking_refusal(first.config)
        if first.group.enabled:
            refusal = "a stack trains in one process, not under torchrun"
        wanted = first.config.to_dict()
        different = sorted(key for trainer in self.trainers for key, value in trainer.config.to_dict().items()
                           if key != "seed" and value != wanted[key])
        if different:
            refusal = f"the runs differ in more than their seed ({', '.join(dict.fromkeys(different))})"
        if refusal:
            raise NotStackable(f"{refusal}: run these seeds separately")
        self.config, self.device = first.config, first.device
        self.seeds = SeedAxis(len(self.trainers))
        ordinary = [trainer.training for trainer in self.trainers]
        generator = stack_network([step.generator for step in ordinary]).to(self.device)
        discriminator = stack_network([step.discriminator for step in ordinary]).to(self.device)
        self.training = TrainingStep(self.config, generator, discriminator, first.latent_dim, first.num_classes,
                                     StackedSource([trainer.data for trainer in self.trainers]), self.device,
                                     first.group, self.seeds)
        self.training.load_state_dict(self._joined([step.state_dict() for step in ordinary]))
        self.live = list(range(len(self.trainers)))  # seeds still training
        self.outcomes: dict[int, TrainResult | TrainingDiverged] = {}
        self.elapsed = first.elapsed

    @property
    def step(self) -> int:
        return self.training.step

    # ------------------------------------------------------------------------------- stacked <-> per seed

    def _joined(self, states: list[dict[str, Any]]) -> dict[str, Any]:
        template = self.training.state_dict()
        ordinary = self.trainers[0].training
        joined = {}
        for key, value in template.items():
            parts = [state[key] for state in states]
            if key in OPTIMIZERS:
                attribute = OPTIMIZERS[key]
                joined[key] = join_optimizer_states(parts, getattr(self.training, attribute),
                                                    getattr(ordinary, attribute))
            else:
                joined[key] = join_states(parts, value)
        return joined

    def sync(self) -> None:
        """Write the stacked state into every live seed's ordinary trainer (weights, gradients, optimizer
        moments, hook states, counters), so that what the seed's run writes is its own."""
        stacked = self.training.state_dict()
        count = self.seeds.seeds
        for seed in self.live:
            trainer = self.trainers[seed]
            ordinary = trainer.training
            template = ordinary.state_dict()
            state = {}
            for key, value in stacked.items():
                if key in OPTIMIZERS:
                    attribute = OPTIMIZERS[key]
                    state[key] = split_optimizer_state(value, getattr(self.training, attribute),
                                                       getattr(ordinary, attribute), count, seed)
                else:
                    state[key] = split_state(value, template[key], count, seed)
            ordinary.load_state_dict(state)
            for attribute in OPTIMIZERS.values():
                for whole, own in zip(getattr(self.training, attribute), getattr(ordinary, attribute), strict=True):
                    own.grad = None if whole.grad is None else split_tensor(whole.grad, own, count, seed)
            trainer.elapsed = self.elapsed

    # ------------------------------------------------------------------------------------------- loop

    def run(self, stop_at: int | None = None, progress: bool = True) -> dict[int, TrainResult | TrainingDiverged]:
        """Train to ``config.steps`` (or stop at ``stop_at`` as if interrupted there); returns each seed's
        outcome by its index: a :class:`TrainResult`, or the :class:`TrainingDiverged` that retired it."""
        config = self.config
        target = min(config.steps, stop_at) if stop_at is not None else config.steps
        names = ", ".join(trainer.run_dir.name for trainer in self.trainers)
        bar = tqdm(total=config.steps, initial=self.step, desc=f"stack of {len(self.trainers)}: {names}"[:60],
                   unit="step", dynamic_ncols=True, disable=not progress, mininterval=1.0, file=sys.stderr)
        saved_at = None
        try:
            with stop_requests() as stop:
                while self.step < target and self.live and not stop.requested:
                    saved_at = self.step if self._step_and_bookkeeping(bar) else saved_at
        except BaseException:
            self.close()
            raise
        finally:
            bar.close()
        if self.live and self.step < config.steps and saved_at != self.step:
            self.checkpoint()
        stopped = self.step < config.steps and stop.requested
        for seed in self.live:
            if stopped:  # each seed's run records the stop, as one run does
                append_event(self.trainers[seed].run_dir, stop_event(self.step, stop))
            self.trainers[seed].finish()
            self.outcomes[seed] = TrainResult(self.trainers[seed].run_dir, self.step, self.step < config.steps)
        return dict(sorted(self.outcomes.items()))

    def _step_and_bookkeeping(self, bar: tqdm) -> bool:
        config = self.config
        step = self.step
        started = time.perf_counter()
        stats = self.training()
        self.elapsed += time.perf_counter() - started
        for seed in self.live:
            self.trainers[seed].monitor.add(step, {key: value[seed] for key, value in stats.items()})
        bar.update(1)
        step, last = self.step, self.step == config.steps
        logs, samples = step % config.log_every == 0 or last, step % config.sample_every == 0 or last
        saves = step % config.checkpoint_every == 0 or last
        if logs or samples or saves:
            self.sync()
        if logs:
            self._each_seed(lambda trainer: trainer.flush_stats())
        if samples:
            self._each_seed(lambda trainer: trainer.save_samples())
        if saves:
            self._each_seed(lambda trainer: trainer.checkpoint())
        return saves

    def checkpoint(self) -> None:
        """Every live seed's ordinary checkpoint of the current stacked state."""
        self.sync()
        self._each_seed(lambda trainer: trainer.checkpoint())

    def _each_seed(self, action: Any) -> None:
        """``action(trainer)`` for every live seed; a seed whose losses went NaN is retired, the others go on."""
        for seed in list(self.live):
            try:
                action(self.trainers[seed])
            except TrainingDiverged as reason:
                self._retire(seed, reason)

    def _retire(self, seed: int, reason: TrainingDiverged) -> None:
        trainer = self.trainers[seed]
        trainer.monitor.flag("nan", str(reason), self.step)
        self.live.remove(seed)
        self.outcomes[seed] = TrainingDiverged(f"{reason}; the last checkpoint is intact (the other seeds of its "
                                               "stack went on): lower the learning rates, or train it alone with "
                                               "divergence.action=rollback")
        trainer.close()
        print(f"wganlab: {trainer.run_dir.name}: {reason}; this seed stops, the rest of its stack goes on",
              file=sys.stderr)

    def close(self) -> None:
        for seed in self.live:
            self.trainers[seed].close()


def start_stack(configs: Sequence[RunConfig], run_dirs: Sequence[Path], source: str = "",
                tensorboard: bool = True) -> StackedTrainer:
    """Start one ordinary run per config (same config but the seed) and stack them; every run's step-0
    checkpoint holds the stack's random state, so a stack killed before its first checkpoint resumes exactly."""
    from wganlab.training.start import start_run

    refusal = stacking_refusal(configs[0])
    if refusal:  # before any run directory is made
        raise NotStackable(f"{refusal}: run these seeds separately")
    trainers: list[Trainer] = []
    try:
        for config, run_dir in zip(configs, run_dirs, strict=True):
            trainers.append(start_run(config, Path(run_dir), source=source, tensorboard=tensorboard))
        stack = StackedTrainer(trainers)
    except BaseException:
        for trainer in trainers:
            trainer.close()
        raise
    for trainer in trainers:  # the seconds each seed logs are the stack's: readers divide by this
        info_path = trainer.run_dir / RUN_INFO_FILE
        info = read_json(info_path) or {}
        write_json_atomic(info_path, {**info, "stacked_seeds": len(trainers),
                                      "stacked_with": [t.run_dir.name for t in trainers]})
    stack.checkpoint()
    return stack


def resume_stack(run_dirs: Sequence[Path], settings: Sequence[dict[str, Any]] | None = None,
                 tensorboard: bool = True) -> StackedTrainer:
    """Resume the runs of ``run_dirs`` (each from its newest checkpoint, all at the same step) as one stack;
    ``settings`` are each run's execution changes (:func:`wganlab.training.start.resume_run`)."""
    from wganlab.training.start import resume_run

    trainers: list[Trainer] = []
    settings = list(settings) if settings is not None else [{} for _ in run_dirs]
    try:
        for run_dir, changes in zip(run_dirs, settings, strict=True):
            trainers.append(resume_run(Path(run_dir), tensorboard=tensorboard, settings=changes))
        return StackedTrainer(trainers)
    except BaseException:
        for trainer in trainers:
            trainer.close()
        raise
