"""``make demo``: the heart of the studies in a few minutes on 2 CPU cores.

WGAN-GP on the 8-gaussians toy, then a GAN and a WGAN-GP on the embedded MNIST digits with the same DCGAN
networks, each with its sample grids, GIF and loss curves. Prints where everything is.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from wganlab.config import load_config
from wganlab.metrics.toy import mode_coverage
from wganlab.runlog import read_metrics
from wganlab.sampling import generate, load_generator
from wganlab.train import start_run

RUNS = [
    ("wgan-gp-8gaussians", "wgan-gp", ["data=8gaussians", "steps=2000", "sample_every=250"]),
    ("gan-mnist", "dcgan", ["data=mnist", "steps=500", "sample_every=50", "log_every=10"]),
    ("wgan-gp-mnist", "wgan-gp", ["data=mnist", "steps=200", "sample_every=20", "log_every=10"]),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("runs/demo"))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every run's steps (for a quick look)")
    args = parser.parse_args(argv)
    summary = []
    for name, preset, overrides in RUNS:
        config = load_config(preset, overrides)
        config.steps = max(1, int(config.steps * args.scale))
        run_dir = args.out / name
        shutil.rmtree(run_dir, ignore_errors=True)
        print(f"[{name}] {preset} {' '.join(overrides)}", file=sys.stderr)
        started = time.perf_counter()
        trainer = start_run(config, run_dir, source=preset)
        trainer.run()
        line = f"{name:<20} {config.steps:>5} steps in {time.perf_counter() - started:5.0f} s   {run_dir}"
        if trainer.data.is_toy:
            report = mode_coverage(generate(load_generator(run_dir), 2000), trainer.data.mixture)
            line += f"   modes {report.modes_covered}/{report.modes_total}, {report.high_quality:.0%} high quality"
        else:
            fid = next((r["fid"] for r in reversed(read_metrics(run_dir)) if r.get("fid") is not None), None)
            line += "" if fid is None else f"   FID {fid:.1f} (2k samples, wganlab's MNIST features)"
        summary.append(line)
    print("\nwganlab demo finished:")
    print("\n".join(summary))
    print(f"\nEach run directory holds samples/ (PNG per checkpoint and progress.gif), loss_curves.png, "
          f"metrics.jsonl and tensorboard/ (tensorboard --logdir {args.out}).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
