"""One study run from start to measured result, as a function a worker process (or a Ray task) calls.

A run directory moves through three states that the study reads back, so that re-running a study skips what is
done and resumes what was interrupted:

- no ``config.yaml``: not started; the task starts it;
- ``config.yaml`` but no ``result.json``: started; the task resumes it from its newest checkpoint (a run that
  finished training but not its evaluation just evaluates);
- ``result.json``: finished, with the final and best checkpoints' metrics, times and training-health flags.

A failure is written to ``error.txt`` and returned; it never escapes, so one bad run does not stop the others.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from wganlab.fileio import read_json, write_json_atomic

RESULT_FILE = "result.json"
ERROR_FILE = "error.txt"
FINAL_SEED = 12345  # latent seed for the final evaluation: the same noise for every run of every study


def run_state(run_dir: Path) -> str:
    """'finished', 'started' or 'new'."""
    if (run_dir / RESULT_FILE).is_file():
        return "finished"
    return "started" if (run_dir / "config.yaml").is_file() else "new"


def read_result(run_dir: Path) -> dict[str, Any] | None:
    return read_json(run_dir / RESULT_FILE)


def execute_run(run_dir: str, preset: str | None, overrides: list[str], threads: int = 0, gpu: int | None = None,
                evaluation_samples: int = 10_000) -> dict[str, Any]:
    """Train (or resume) one run and measure it; returns ``{"status": finished|interrupted|failed, ...}``."""
    _prepare(threads, gpu)
    from wganlab.config import load_config
    from wganlab.training.start import resume_run, start_run

    path = Path(run_dir)
    started = time.perf_counter()
    try:
        (path / ERROR_FILE).unlink(missing_ok=True)
        config = load_config(preset, overrides)
        _check_scorable(config)
        if run_state(path) == "new":
            trainer = start_run(config, path, source=preset or "study", tensorboard=True)
        else:
            trainer = resume_run(path, settings=_changes_for(path, config))
        outcome = trainer.run(progress=False)
        if outcome.interrupted:
            return {"status": "interrupted", "step": outcome.step}
        return _measured(path, trainer, config, evaluation_samples, started)
    except KeyboardInterrupt:
        return {"status": "interrupted"}
    except Exception as err:  # reported per run; the study goes on with the others
        return _failed(path, err)


def execute_stack(run_dirs: list[str], preset: str | None, overrides: list[list[str]], threads: int = 0,
                  gpu: int | None = None, evaluation_samples: int = 10_000) -> list[dict[str, Any]]:
    """Train runs that differ only in their seed as one stacked model (:mod:`wganlab.stacking`), then measure
    each as :func:`execute_run` does; one result per run, in order. Runs that cannot be stacked (a part with
    no stacked form, runs at different steps) are said so in one line and run one after another instead."""
    _prepare(threads, gpu)
    from wganlab.config import load_config
    from wganlab.stacking.layers import NotStackable
    from wganlab.stacking.trainer import resume_stack, start_stack

    paths = [Path(run_dir) for run_dir in run_dirs]
    started = time.perf_counter()
    try:
        for path in paths:
            (path / ERROR_FILE).unlink(missing_ok=True)
        configs = [load_config(preset, run_overrides) for run_overrides in overrides]
        for config in configs:
            _check_scorable(config)
        states = {run_state(path) for path in paths}
        if states == {"new"}:
            stack = start_stack(configs, paths, source=preset or "study")
        elif "new" in states:
            raise NotStackable("some of these runs were started and some not")
        else:
            stack = resume_stack(paths, [_changes_for(path, config) for path, config in zip(paths, configs,
                                                                                               strict=True)])
    except NotStackable as err:
        names = ", ".join(path.name for path in paths)
        print(f"wganlab: {names}: not stacked ({err}); they run separately", file=sys.stderr, flush=True)
        return [execute_run(str(path), preset, run_overrides, threads, None, evaluation_samples)
                for path, run_overrides in zip(paths, overrides, strict=True)]
    except KeyboardInterrupt:
        return [{"status": "interrupted"} for _ in paths]
    except Exception as err:
        return [_failed(path, err) for path in paths]
    try:
        outcomes = stack.run(progress=False)
    except KeyboardInterrupt:
        return [{"status": "interrupted"} for _ in paths]
    except Exception as err:
        return [_failed(path, err) for path in paths]
    results = []
    for index, (path, config) in enumerate(zip(paths, configs, strict=True)):
        outcome = outcomes[index]
        try:
            if isinstance(outcome, Exception):
                raise outcome
            if outcome.interrupted:
                results.append({"status": "interrupted", "step": outcome.step})
                continue
            # Each seed's share of the stack's time, so that tables and claims compare costs per seed; the
            # stack's own seconds are kept beside them (and are what the seed's metrics.jsonl logs).
            share = stack.elapsed / len(paths)
            results.append(_measured(path, stack.trainers[index], config, evaluation_samples, started,
                                     {"stacked_seeds": len(paths), "stack_train_seconds": round(stack.elapsed, 3),
                                      "train_seconds": round(share, 3),
                                      "seconds_per_step": share / max(outcome.step, 1)}))
        except Exception as err:
            results.append(_failed(path, err))
    return results


def _check_scorable(config: Any) -> None:
    """A run a study scores as augmentation (``eval.augment``) is refused before minutes of training, as
    ``wganlab augment PRESET`` refuses it."""
    if config.eval.augment:
        from wganlab.metrics.augmentation import check_augmentable

        check_augmentable(config)


def _prepare(threads: int, gpu: int | None) -> None:
    """This worker's GPU (before anything touches CUDA: the process then sees one GPU, as 'cuda') and threads."""
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    import torch

    if threads:
        torch.set_num_threads(threads)


def _changes_for(path: Path, config: Any) -> dict[str, Any]:
    from wganlab.rundir.layout import load_run_config

    return _execution_changes(load_run_config(path).to_dict(), config.to_dict(), path)


def _measured(path: Path, trainer: Any, config: Any, evaluation_samples: int, started: float,
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The finished run's ``result.json``: its final and best checkpoints measured, times and health."""
    from wganlab.metrics import wasserstein as critic_versus_w1
    from wganlab.rundir.checkpoints import best_checkpoint_path
    from wganlab.rundir.log import read_metrics

    result = {
        "status": "finished",
        "steps": trainer.step,
        "train_seconds": round(trainer.elapsed, 3),
        "seconds_per_step": trainer.elapsed / max(trainer.step, 1),
        "health": trainer.health,
        "final": measure_checkpoint(path, None, evaluation_samples),
    }
    if config.eval.wasserstein:  # the critic against the exact batch W1, from the run's evaluations
        result["final"].update(critic_versus_w1.summarize_run(read_metrics(path)))
    if config.eval.augment:  # does the generator's data help a classifier (wganlab augment)
        from wganlab.metrics.augmentation import augment_run, study_metrics

        result["final"].update(study_metrics(augment_run(path, config.eval.augment)))
    best = best_checkpoint_path(path)
    if not best.is_file():
        result["best"] = None
    elif trainer.best.get("step") == trainer.step:  # the best checkpoint is the final one: same weights
        result["best"] = dict(result["final"])
    else:
        result["best"] = measure_checkpoint(path, best, evaluation_samples)
    result["wall_seconds"] = round(time.perf_counter() - started, 3)
    result.update(extra or {})
    write_json_atomic(path / RESULT_FILE, result)
    return result


def _failed(path: Path, err: BaseException) -> dict[str, Any]:
    from wganlab.errors import WganlabError

    one_line = str(err) if isinstance(err, WganlabError) else f"{type(err).__name__}: {err}"
    record_failure(path, one_line, "".join(traceback.format_exception(err)))
    return {"status": "failed", "error": one_line.splitlines()[0] if one_line else type(err).__name__}


def record_failure(run_dir: Path, message: str, details: str = "") -> None:
    """The run's ``error.txt``: its one-line reason first (what reports list), then any detail below it."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / ERROR_FILE).write_text(f"{message}\n\n{details}" if details else f"{message}\n", encoding="utf-8")


# Where they apply (see measure_checkpoint); class_accuracy for conditional generators only.
STUDY_METRICS = ("fid", "kid", "classes", "class_accuracy", "modes", "w1")


def measure_checkpoint(run_dir: Path, checkpoint: Path | None, samples: int) -> dict[str, Any]:
    """The study's metrics for one checkpoint (the newest when ``checkpoint`` is None), measured by the same
    :func:`wganlab.api.evaluate` that ``wganlab eval`` calls, on the same latent noise for every run.

    2D toys: modes covered (mixtures), high-quality share and exact W1; tables: W1. 28x28 digits and clothes: FID
    with wganlab's feature network, class coverage and the class histogram, and for a conditional generator the
    share of samples classified as the class asked for; stacked MNIST: its 1,000 triples.
    Other images: Inception FID when its weights are available, else the reason it is not.
    """
    from wganlab.api import evaluate
    from wganlab.errors import WganlabError
    from wganlab.sampling import load_generator

    source = checkpoint if checkpoint is not None else run_dir
    loaded = load_generator(source)
    out: dict[str, Any] = {"step": loaded.step}
    try:
        out.update(evaluate(source, n=samples, metrics=_applicable(loaded), seed=FINAL_SEED))
    except WganlabError as err:
        if loaded.config.is_vectors:  # W1 is always measurable on points: a failure here is the run's, reported
            raise
        out["unavailable"] = str(err)  # images may lack their feature network (Inception's weights)
    return out


def _applicable(loaded: Any) -> tuple[str, ...]:
    """The study's metrics that apply to the run's kind of samples and data (raises when the data's feature
    network is unavailable)."""
    from wganlab.metrics.evaluate import inapplicable
    from wganlab.registry import METRICS

    kind = METRICS.having("points" if loaded.config.is_vectors else "images")
    return tuple(m for m in STUDY_METRICS if m in kind and (m != "class_accuracy" or loaded.num_classes)
                 and inapplicable((m,), loaded.config.data, None, loaded.sample_shape) is None)


def config_differences(saved: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """The config keys on which a saved run and what a study now asks differ in what the run trains: every key
    but the execution settings (threads, intervals, precision...) and the preset's ``description`` (reworded
    text trains nothing), and ``steps`` too, which a finished run cannot follow and which changes the result a
    study compares."""
    from wganlab.config import EXECUTION_KEYS

    flat_saved, flat_wanted = _flattened(saved), _flattened(wanted)
    changed = sorted(k for k in set(flat_saved) | set(flat_wanted) if flat_saved.get(k) != flat_wanted.get(k))
    return [key for key in changed if (key not in EXECUTION_KEYS or key == "steps") and key != "description"]


def _flattened(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"optim": {"lr": 1}}`` as ``{"optim.lr": 1}``, so a difference names the setting, not its section."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(_flattened(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def saved_config(run_dir: Path) -> dict[str, Any] | None:
    """The run's saved ``config.yaml`` as a dict, None for a run not started."""
    from wganlab.rundir.layout import load_run_config

    if not (Path(run_dir) / "config.yaml").is_file():
        return None
    return load_run_config(run_dir).to_dict()


def _execution_changes(saved: dict[str, Any], wanted: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The execution settings (threads, intervals...) the study now wants for a started run. Any other change
    means the study file changed what the run trains, which resuming cannot honour; so does ``steps``, which a
    finished run of the same study could not follow."""
    from wganlab.errors import CheckpointError

    algorithm = config_differences(saved, wanted)
    if algorithm:
        raise CheckpointError(f"'{run_dir}' holds a run with a different config ({', '.join(algorithm)} changed); "
                              "delete that run directory or write the study to another --out")
    return {key: wanted[key] for key in sorted(set(saved) | set(wanted)) if saved.get(key) != wanted.get(key)}
