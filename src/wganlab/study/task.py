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
    if gpu is not None:  # before anything touches CUDA: this process sees one GPU, as 'cuda'
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    import torch

    from wganlab.checkpoint import best_checkpoint_path
    from wganlab.config import load_config
    from wganlab.errors import WganlabError
    from wganlab.metrics import wasserstein as critic_versus_w1
    from wganlab.rundir import load_run_config
    from wganlab.runlog import read_metrics
    from wganlab.runs import resume_run, start_run

    path = Path(run_dir)
    started = time.perf_counter()
    try:
        if threads:
            torch.set_num_threads(threads)
        (path / ERROR_FILE).unlink(missing_ok=True)
        config = load_config(preset, overrides)
        if run_state(path) == "new":
            trainer = start_run(config, path, source=preset or "study", tensorboard=True)
        else:
            settings = _execution_changes(load_run_config(path).to_dict(), config.to_dict(), path)
            trainer = resume_run(path, settings=settings)
        outcome = trainer.run(progress=False)
        if outcome.interrupted:
            return {"status": "interrupted", "step": outcome.step}
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
            from wganlab.augment import augment_run, study_metrics

            result["final"].update(study_metrics(augment_run(path, config.eval.augment)))
        best = best_checkpoint_path(path)
        if not best.is_file():
            result["best"] = None
        elif trainer.best.get("step") == trainer.step:  # the best checkpoint is the final one: same weights
            result["best"] = dict(result["final"])
        else:
            result["best"] = measure_checkpoint(path, best, evaluation_samples)
        result["wall_seconds"] = round(time.perf_counter() - started, 3)
        write_json_atomic(path / RESULT_FILE, result)
        return result
    except KeyboardInterrupt:
        return {"status": "interrupted"}
    except Exception as err:  # reported per run; the study goes on with the others
        one_line = str(err) if isinstance(err, WganlabError) else f"{type(err).__name__}: {err}"
        record_failure(path, one_line, traceback.format_exc())
        return {"status": "failed", "error": one_line.splitlines()[0] if one_line else type(err).__name__}


def record_failure(run_dir: Path, message: str, details: str = "") -> None:
    """The run's ``error.txt``: its one-line reason first (what reports list), then any detail below it."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / ERROR_FILE).write_text(f"{message}\n\n{details}" if details else f"{message}\n", encoding="utf-8")


def measure_checkpoint(run_dir: Path, checkpoint: Path | None, samples: int) -> dict[str, Any]:
    """The study's metrics for one checkpoint (the newest when ``checkpoint`` is None).

    2D toys: modes covered, high-quality share and exact W1. 28x28 digits and clothes: FID with wganlab's
    feature network, class coverage and the class histogram. Other images: Inception FID when its weights are
    available, else the reason it is not.
    """
    from wganlab.config import VECTOR_DATASETS
    from wganlab.data.images import to_symmetric
    from wganlab.errors import WganlabError
    from wganlab.metrics import evaluate
    from wganlab.registry import METRICS
    from wganlab.sampling import generate, load_generator

    loaded = load_generator(checkpoint if checkpoint is not None else run_dir)
    fake = generate(loaded, samples, seed=FINAL_SEED)
    data = loaded.config.data
    out: dict[str, Any] = {"step": loaded.step}
    if data.name in VECTOR_DATASETS:
        out.update(evaluate.evaluate_points(fake, data, METRICS.having("points")))
        return out
    try:
        out.update(evaluate.evaluate_images(to_symmetric(fake, data.pixel_range), data,
                                            ("fid", "kid", "classes", "modes")))
    except WganlabError as err:
        out["unavailable"] = str(err)
    return out


def _execution_changes(saved: dict[str, Any], wanted: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The execution settings (threads, intervals...) the study now wants for a started run. Any other change
    means the study file changed what the run trains, which resuming cannot honour; so does ``steps``, which a
    finished run of the same study could not follow."""
    from wganlab.config import EXECUTION_KEYS
    from wganlab.errors import CheckpointError

    changed = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
    algorithm = [key for key in changed if key not in EXECUTION_KEYS or key == "steps"]
    if algorithm:
        raise CheckpointError(f"'{run_dir}' holds a run with a different config ({', '.join(algorithm)} changed); "
                              "delete that run directory or write the study to another --out")
    return {key: wanted[key] for key in changed}
