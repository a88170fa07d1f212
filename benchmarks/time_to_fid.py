"""Wall-clock time to reach a given FID: one real training, evaluated as it goes, stopped at the target.

Trains ``wganlab train PRESET data=DATA`` with an FID evaluation every ``--eval-every`` generator steps (FID with
the feature network wganlab ships for the data — its own MNIST / Fashion-MNIST classifier here, Inception where
weights are configured), and reports the training seconds and the steps at which the FID first fell to
``--target``, with the whole curve. Training time excludes the evaluations (``metrics.jsonl``'s ``seconds``).
Pass extra settings after ``--set`` (``device=cuda precision=bf16``) to compare ways of running the same run.

Usage: python benchmarks/time_to_fid.py [--preset dcgan] [--target 100] [--max-steps 20000] [--set ...]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

import torch

from wganlab.config import load_config
from wganlab.runlog import read_metrics
from wganlab.train import Trainer, start_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="dcgan")
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--target", type=float, default=100.0, help="FID to reach")
    parser.add_argument("--max-steps", type=int, default=20_000)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--eval-samples", type=int, default=2000)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    settings = [f"data={args.data}", f"steps={args.max_steps}", f"eval_every={args.eval_every}",
                f"log_every={args.eval_every}", f"eval_samples={args.eval_samples}", "sample_every=1000000",
                "checkpoint_every=1000000", *args.set]
    config = load_config(args.preset, settings)
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
    device = torch.cuda.get_device_name() if trainer.device.type == "cuda" else platform.processor() or "cpu"
    print(json.dumps({"benchmark": "time_to_fid", "preset": args.preset, "data": args.data, "target_fid": args.target,
                      "settings": settings, "device": device, "torch": torch.__version__,
                      "reached": reached, "curve": curve}, indent=2))


if __name__ == "__main__":
    main()
