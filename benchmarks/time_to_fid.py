"""Quality per training minute: FID after fixed amounts of training time, or the time to reach a target FID.

Trains ``wganlab train PRESET data=DATA`` for real and measures the FID of the sampling generator (the EMA one
where the preset keeps one) with the feature network wganlab ships for the data — its own MNIST / Fashion-MNIST
classifier here, Inception where weights are configured. Training time is wall-clock time spent in training steps
only; the evaluations, sample grids and checkpoints are outside it, so a slow evaluation cannot make a preset look
slow. On a GPU the clock is read after a synchronize.

Two modes:

* ``--minutes 2 5 10`` (the table in docs/performance.md): each preset in turn trains until each mark has passed
  and is evaluated there (FID, and on MNIST or Fashion-MNIST the classes its samples draw), so one run gives the
  whole row. The learning rate must not depend on ``steps``
  (``lr_schedule=constant``, the image presets' default), since the length of the run is set by the clock.
* ``--target 20``: evaluate every ``--eval-every`` steps and stop at the first FID at or below the target.

Pass extra settings after ``--set`` (``threads=2``, ``device=cuda precision=bf16``) to compare ways of running the
same run. Prints JSON (one object per preset in a list); ``--markdown`` adds the table on stderr.

Usage: python benchmarks/time_to_fid.py --minutes 2 5 10 --presets gan dcgan wgan-gp [--set threads=2]
       python benchmarks/time_to_fid.py --preset dcgan --target 20 [--max-steps 20000]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from wganlab.config import load_config
from wganlab.data.images import to_symmetric
from wganlab.errors import ConfigError
from wganlab.machine import describe_machine
from wganlab.metrics.evaluate import evaluate_images, inapplicable
from wganlab.nets.build import eval_mode, generate_chunks
from wganlab.rundir.log import read_metrics
from wganlab.training.start import start_run
from wganlab.training.trainer import Trainer

NEVER = 10**9  # an interval that never falls due


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", "--preset", nargs="+", default=["dcgan"])
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--minutes", type=float, nargs="+", help="training-time marks at which to measure the FID")
    parser.add_argument("--target", type=float, default=100.0, help="FID to reach (without --minutes)")
    parser.add_argument("--max-steps", type=int, default=20_000)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--eval-samples", type=int, default=5000)
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table on stderr")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    results = []
    for preset in args.presets:
        measure = by_the_clock if args.minutes else to_target
        results.append(measure(preset, args))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2))
    if args.markdown and args.minutes:
        print(markdown(results, args.minutes), file=sys.stderr)


def by_the_clock(preset: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train ``preset`` until the last mark, evaluating at each mark as it passes."""
    settings = [f"data={args.data}", f"steps={NEVER}", f"eval_every={NEVER}", f"log_every={NEVER}",
                f"eval_samples={args.eval_samples}", f"sample_every={NEVER}", f"checkpoint_every={NEVER}",
                *args.set]
    config = load_config(preset, settings)
    if config.lr_schedule != "constant":
        raise ConfigError(f"{preset} decays its learning rate over steps={config.steps}; a clock-limited run needs "
                          "lr_schedule=constant (add it after --set)")
    marks = sorted(minutes * 60 for minutes in args.minutes)
    points: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        trainer: Trainer = start_run(config, Path(tmp) / "run", tensorboard=False)
        cuda = trainer.device.type == "cuda"
        between_reads = 10 if cuda else 1  # a GPU synchronizes to read the clock: once per 10 steps
        elapsed = 0.0
        while marks:
            started = time.perf_counter()
            for _ in range(between_reads):
                trainer.train_step()
            if cuda:
                torch.cuda.synchronize()
            elapsed += time.perf_counter() - started
            if elapsed >= marks[0]:
                fid = trainer.evaluator(trainer.sampling_generator())["fid"]
                points.append({"minutes": round(marks.pop(0) / 60, 2), "seconds": round(elapsed, 1),
                               "step": trainer.step, "fid": round(fid, 2) if math.isfinite(fid) else None,
                               **class_coverage(trainer, config, args.eval_samples)})
                print(json.dumps({"preset": preset, **points[-1]}), file=sys.stderr, flush=True)
        trainer.log.close()
    return {"benchmark": "time_to_fid", "preset": preset, "data": args.data, "settings": settings,
            "description": config.description, **_machine(trainer), "points": points}


def to_target(preset: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train ``preset`` with an evaluation every ``--eval-every`` steps until the FID reaches ``--target``."""
    settings = [f"data={args.data}", f"steps={args.max_steps}", f"eval_every={args.eval_every}",
                f"log_every={args.eval_every}", f"eval_samples={args.eval_samples}", f"sample_every={NEVER}",
                f"checkpoint_every={NEVER}", *args.set]
    config = load_config(preset, settings)
    curve, reached = [], None
    with tempfile.TemporaryDirectory() as tmp:
        trainer: Trainer = start_run(config, Path(tmp) / "run", tensorboard=False)
        while trainer.step < config.steps and reached is None:
            trainer.run(stop_at=trainer.step + args.eval_every, progress=False)
            record = read_metrics(trainer.run_dir)[-1]
            if "fid" in record:
                curve.append({"step": record["step"], "seconds": record["seconds"], "fid": round(record["fid"], 2)})
                print(json.dumps(curve[-1]), file=sys.stderr, flush=True)
                if record["fid"] <= args.target:
                    reached = curve[-1]
    return {"benchmark": "time_to_fid", "preset": preset, "data": args.data, "target_fid": args.target,
            "settings": settings, **_machine(trainer), "reached": reached, "curve": curve}


def class_coverage(trainer: Trainer, config: Any, count: int) -> dict[str, Any]:
    """How many of the data's classes ``count`` samples of the sampling generator draw (a class counts when its
    share is at least a tenth of its share among real images: ``wganlab.metrics``' rule, about 1 % of the samples
    for ten balanced classes), for an unconditional model of data whose feature network is a classifier (the
    metric's own rule, :func:`wganlab.metrics.evaluate.inapplicable`); {} otherwise. Fixed latents from a private
    generator: training's random stream is untouched."""
    if inapplicable(("classes",), config.data) or config.conditioning.mode != "none":
        return {}
    latents = torch.randn(count, trainer.latent_dim, generator=torch.Generator().manual_seed(0)).to(trainer.device)
    generator = trainer.sampling_generator()
    with torch.no_grad(), eval_mode(generator):
        fake = torch.cat(list(generate_chunks(generator, latents, None, 500))).float()
    report = evaluate_images(to_symmetric(fake, config.data.pixel_range).cpu(), config.data, ("classes",))
    return {key: report[key] for key in ("classes_covered", "classes_total", "class_counts")}


def _machine(trainer: Trainer) -> dict[str, Any]:
    return {"device": trainer.device.type, **describe_machine(trainer.device)}


def markdown(results: list[dict[str, Any]], minutes: list[float]) -> str:
    """One row per preset: the FID at each mark, with the generator steps reached by then."""
    marks = sorted(minutes)
    header = "| preset | " + " | ".join(f"FID after {m:g} min (steps)" for m in marks) + " |"
    lines = [header, "|---" * (len(marks) + 1) + "|"]
    for result in results:
        cells = [(f"{p['fid']:.1f} ({p['step']:,})" if p["fid"] is not None else f"not finite ({p['step']:,})")
                 + (f", {p['classes_covered']}/{p['classes_total']} classes" if "classes_covered" in p else "")
                 for p in result["points"]]
        lines.append(f"| {result['preset']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
