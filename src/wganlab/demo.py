"""``make demo``: the shipped ``demo`` study, on 2 CPU cores in 10-13 minutes with the install on an AVX-512 host
and about 14 on the AVX2 host of 2026-12-06 (about twice that, projected, on the slowest host seen).

GAN, WGAN with weight clipping, WGAN-GP and WGAN-SN on the same networks, on the 8-gaussians toy (5 seeds) and
the embedded MNIST digits (3 seeds): the toy runs until their learning rate has decayed to 0, the MNIST runs for
about 50 s of CPU time each (their FIDs still falling); then the verdicts (which variant is better, and how sure),
the seeds-averaged tables and the HTML report. Prints where the report is.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from wganlab.study.report import build_report
from wganlab.study.runner import run_study
from wganlab.study.spec import load_study


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("runs/demo"))
    parser.add_argument("--study", default="demo", help="a shipped study or a study file (default demo)")
    parser.add_argument("--scale", default=None, help="one of the study's scales (default: the study as written)")
    parser.add_argument("--workers", type=int, help="runs at once (default: one per core)")
    parser.add_argument("--fresh", action="store_true", help="delete earlier demo runs instead of reusing them")
    args = parser.parse_args(argv)
    if args.fresh:
        shutil.rmtree(args.out, ignore_errors=True)
    study = load_study(args.study, args.scale)
    started = time.perf_counter()
    # The demo is one fixed job: runs left by an older version of it are retrained, not refused.
    outcome = run_study(study, args.out, workers=args.workers, rerun_changed=True)
    report = build_report(args.out)
    print(f"\nwganlab demo: {study.name} ({study.scale}) in {time.perf_counter() - started:.0f} s: "
          f"{outcome['ran']} runs trained, {outcome['skipped']} reused, {len(outcome['failed'])} failed")
    print((args.out / "summary.md").read_text(encoding="utf-8"))
    print(f"Each run directory under {args.out / 'runs'} holds samples/ (PNG per step and progress.gif), "
          f"loss_curves.png, metrics.jsonl and tensorboard/ (tensorboard --logdir {args.out / 'runs'}).")
    print(f"\nreport: {report.resolve()}")
    return 1 if outcome["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
