"""The Python API, for notebooks and scripts: what the command line does, as functions that return objects.

    import wganlab

    run = wganlab.train("wgan-gp", "data=8gaussians", "steps=2000")    # a preset (or YAML file) and overrides
    points = run.sample(1000, seed=0)                                   # a tensor on the CPU
    print(run.evaluate(n=2000))                                         # {"modes_covered": 8, "w1": ...}
    run = wganlab.open_run("runs/wgan-gp-8gaussians-seed0-...")        # any run directory, finished or not
    run.resume(steps=4000)                                              # train it further
    run.metrics()[-1], run.events(), run.checkpoints()

Errors are the same typed exceptions the command line turns into one line (:class:`wganlab.ConfigError`,
:class:`wganlab.CheckpointError`, ...). Training here holds the run directory's lock as the CLI does, so a run
cannot be trained by a notebook and a terminal at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wganlab.config import RunConfig, load_config, reference_data

if TYPE_CHECKING:  # torch loads when a function needs it: 'import wganlab' stays light
    import torch


@dataclass(frozen=True)
class Run:
    """A run directory: its config, logs, checkpoints and generator."""

    run_dir: Path

    @property
    def config(self) -> RunConfig:
        from wganlab.rundir.layout import load_run_config

        return load_run_config(self.run_dir)

    @property
    def step(self) -> int:
        """The step of the newest checkpoint (0 before the first)."""
        from wganlab.rundir.checkpoints import list_checkpoints

        found = list_checkpoints(self.run_dir)
        return found[-1][0] if found else 0

    @property
    def finished(self) -> bool:
        return self.step >= self.config.steps

    def metrics(self) -> list[dict[str, Any]]:
        """Every logged record of ``metrics.jsonl`` (losses, the critic's estimate, FID when evaluated)."""
        from wganlab.rundir.log import read_metrics

        return read_metrics(self.run_dir)

    def events(self) -> list[dict[str, Any]]:
        """Rollbacks, damaged checkpoints and resumes with other settings, as the run's event log holds them."""
        from wganlab.rundir.layout import read_events

        return read_events(self.run_dir)

    def checkpoints(self) -> list[dict[str, Any]]:
        """What ``wganlab check`` reports for each checkpoint: step, bytes, checksum, finite weights."""
        from wganlab.rundir.checkpoints import inspect_checkpoint, list_checkpoints

        reports = [inspect_checkpoint(path) for _, path in list_checkpoints(self.run_dir)]
        return [{"file": r.path.name, "step": r.step, "bytes": r.size, "checksum": r.checksum,
                 "weights": r.weights, "ok": r.ok} for r in reports]

    def sample(self, n: int = 64, seed: int = 0, label: int | None = None) -> torch.Tensor:
        """``n`` samples of the newest checkpoint (EMA weights when kept): images in the data's pixel range, or
        N x 2 points. ``label`` picks a conditional run's class (default: every class in turn)."""
        return sample(self.run_dir, n, seed=seed, label=label)

    def evaluate(self, n: int = 10_000, metrics: tuple[str, ...] | None = None, seed: int = 0,
                 features: str | None = None, data_options: tuple[str, ...] = ()) -> dict[str, Any]:
        """The run's metrics on ``n`` samples: FID, KID, classes... for images, modes and W1 for 2D toys;
        ``features`` and ``data_options`` (``("data.image_size=28",)``...) as ``wganlab eval`` takes them."""
        return evaluate(self.run_dir, n=n, metrics=metrics, seed=seed, features=features, data_options=data_options)

    def resume(self, progress: bool = True, **settings: Any) -> Run:
        """Train on from the newest checkpoint; ``settings`` may change how it executes (``steps=``,
        ``threads=``, ``device=``, the intervals...), as ``wganlab train --resume RUN key=value`` does."""
        from wganlab.training.start import resume_run

        resume_run(self.run_dir, settings=settings).run(progress=progress)
        return self


def train(source: str | Path | dict[str, Any], *overrides: str, run_dir: str | Path | None = None,
          progress: bool = True) -> Run:
    """Train a preset name, a YAML file or a config dict, with ``key=value`` overrides, to its ``steps``.

    ``run_dir`` defaults to ``runs/<preset>-<data>-seed<N>-<time>``, as ``wganlab train`` chooses it. Ctrl-C stops
    at the end of the current step with a checkpoint; the returned run then has ``finished == False``.
    """
    from wganlab.rundir.layout import default_run_dir
    from wganlab.training.start import start_run

    config = load_config(source, list(overrides))
    name = str(source) if not isinstance(source, dict) else ""
    directory = Path(run_dir) if run_dir is not None else default_run_dir(config, name)
    start_run(config, directory, source=name).run(progress=progress)
    return Run(directory)


def open_run(run_dir: str | Path) -> Run:
    """An existing run directory (raises :class:`wganlab.CheckpointError` if it is not one)."""
    from wganlab.rundir.layout import load_run_config

    directory = Path(run_dir)
    load_run_config(directory)
    return Run(directory)


def sample(source: str | Path, n: int = 64, seed: int = 0, label: int | None = None) -> torch.Tensor:
    """Samples from a run directory, one of its ``.pt`` checkpoints or an exported ``.safetensors`` generator;
    the same ``seed`` gives the same samples."""
    from wganlab.sampling import generate, load_generator

    return generate(load_generator(Path(source)), n, seed=seed, label=label)


def evaluate(source: str | Path, n: int = 10_000, metrics: tuple[str, ...] | None = None, seed: int = 0,
             data: str | None = None, features: str | None = None, data_options: tuple[str, ...] = (),
             inception_weights: str | Path | None = None) -> dict[str, Any]:
    """What ``wganlab eval SOURCE`` prints, as a dict: the one implementation of "judge these samples against
    this data with these features" that the command line and the studies call too.

    ``source`` is a run directory, a ``.pt`` checkpoint, an exported ``.safetensors`` generator (``n`` samples
    drawn with ``seed``, after the data and the metric names have been checked) or a ``.npz`` of samples (uint8
    ``images`` N x C x H x W or float32 ``points`` N x 2, as ``wganlab sample`` writes them; then ``data`` is
    required). ``data`` (as in ``data=...``) replaces a run's own, ``data_options`` (``"data.image_size=28"``)
    adjust it, ``features`` names the feature network (mnist, fashion-mnist, inception; default: MNIST's for
    28x28 greyscale, else Inception).

    A metric asked for by name that does not apply to the data raises :class:`wganlab.ConfigError` naming the
    one that does; without ``metrics``, every metric that applies is measured.
    """
    from wganlab.data.images import to_symmetric
    from wganlab.errors import ConfigError
    from wganlab.metrics import evaluate as measure
    from wganlab.sampling import class_labels, generate, load_generator, read_samples

    asked = None if metrics is None else tuple(metrics)
    if asked == ():
        raise ConfigError("no metric asked for: name at least one, or none to measure every one that applies")
    path = Path(source)
    classes = None  # the class each sample was asked for (conditional generators)
    accuracy_asked = asked is not None and "class_accuracy" in asked
    if path.suffix == ".npz":
        if data is None:
            raise ConfigError("evaluating a .npz needs --data NAME (data=... in the API): the dataset to compare with")
        samples = read_samples(path)
        reference = reference_data(data_options, data)
        names = measure.requested_metrics(asked, reference, samples.ndim == 2, features, tuple(samples.shape[1:]))
        if accuracy_asked:
            raise ConfigError("'class_accuracy' needs the class each sample was asked for, which a .npz does not "
                              "hold: evaluate the run directory or its checkpoint instead")
    else:  # the data and the metric names are checked before minutes of sampling
        loaded = load_generator(path)
        reference = reference_data(data_options, data, loaded.config.data)
        names = measure.requested_metrics(asked, reference, loaded.config.is_vectors, features,
                                          tuple(loaded.sample_shape))
        if accuracy_asked and not loaded.num_classes:
            raise ConfigError("'class_accuracy' needs a conditional generator (conditioning.mode=concat, channels "
                              "or projection); this one is unconditional: ask for 'classes' instead")
        own_data = reference.name == loaded.config.data.name
        if accuracy_asked and not own_data:
            raise ConfigError(f"'class_accuracy' asks for the classes of the run's own data "
                              f"(data={loaded.config.data.name}), not data={reference.name}'s: leave out --data")
        samples = generate(loaded, n, seed=seed)
        classes = class_labels(loaded, n, None) if own_data else None
        if samples.ndim > 2:
            samples = to_symmetric(samples, loaded.config.data.pixel_range)
    return measure.evaluate_samples(samples, reference, names, network=features,
                                    inception_weights=inception_weights, asked_classes=classes)
