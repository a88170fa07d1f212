"""Seeds trained together: generator steps per second of one seed alone against S seeds stacked in one model.

For WGAN-GP (5 critic steps, λ = 10) on the width-16, kernel-3 DCGAN of the demo (``dcgan-w16``) and on the DTU
study's networks (``dtu``), both on the embedded MNIST at batch 64, it times:

* ``alone``: one seed, the ordinary training step;
* ``stacked-S``: S seeds as one stacked model (:mod:`wganlab.stacking`), the same step and per-seed losses,

each eager and, with ``--compile``, with ``compile=reduce-overhead`` (CUDA graphs on a GPU). A figure is the
median of alternating timed windows after a warm-up. ``seed_steps_per_second`` is S x the stack's steps per
second, and ``speedup`` is that over one seed alone: a stack of 10 at speedup 5 trains 10 seeds in the time 2 take
alone. Every stacked step runs the data draws of S sources, S evaluations are not included.

Usage: python benchmarks/stacked.py [--device cuda] [--seeds 1 5 10 20] [--seconds 4] [--compile [S ...]]
       [--networks dcgan-w16 dtu] [--out stacked.json]

``--compile`` alone times compiled networks for every S; ``--compile 10`` for one seed alone and a stack of 10
only (each compilation takes tens of seconds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from wganlab.config import RunConfig, load_config
from wganlab.data.sources import make_source
from wganlab.machine import describe_machine
from wganlab.nets.build import build_networks
from wganlab.stacking.axis import SeedAxis
from wganlab.stacking.trainer import StackedSource, stack_network
from wganlab.training.distributed import Distributed
from wganlab.training.step import TrainingStep
from wganlab.training.trainer import seed_everything

NETWORKS = {  # the demo's digits network, and the DTU study's (nch 12, z 100) with its WGAN-GP settings
    "dcgan-w16": ("wgan-gp", ["model.width=16", "model.kernel_size=3"]),
    "dtu": ("dtu-wgan-gp", []),
}


def config_for(network: str, device: str, compile_mode: str) -> RunConfig:
    preset, overrides = NETWORKS[network]
    return load_config(preset, ["data=mnist", "batch_size=64", "critic_burst=false", f"device={device}",
                                f"compile={compile_mode}", *overrides])


def training_step(config: RunConfig, device: torch.device, seeds: int | None) -> TrainingStep:
    """The ordinary step of one seed (``seeds`` None) or a stack of ``seeds`` seeds, each built from its seed."""
    built, sources = [], []
    for seed in range(seeds or 1):
        seed_everything(seed)
        sources.append(make_source(config.data, device, seed=seed))
        built.append(build_networks(config, sources[-1].shape))
    if seeds is None:
        nets = built[0]
        return TrainingStep(config, nets.generator.to(device), nets.discriminator.to(device), nets.latent_dim, 0,
                            sources[0], device, Distributed())
    return TrainingStep(config, stack_network([n.generator for n in built]).to(device),
                        stack_network([n.discriminator for n in built]).to(device), built[0].latent_dim, 0,
                        StackedSource(sources), device, Distributed(), SeedAxis(seeds))


def rate(step: TrainingStep, seconds: float, rounds: int, device: torch.device) -> float:
    """Median generator steps per second over ``rounds`` timed windows, after a warm-up."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(3 if device.type == "cpu" else 10):
        step()
    sync()
    samples = []
    for _ in range(rounds):
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds / rounds or count < 2:
            step()
            count += 1
        sync()
        samples.append(count / (time.perf_counter() - started))
    return statistics.median(samples)


def measure(network: str, device: torch.device, seeds: list[int], seconds: float, compile_mode: str) -> dict:
    config = config_for(network, device.type, compile_mode)
    rows: dict[str, Any] = {}
    for count in [None, *seeds]:
        torch._dynamo.reset()  # each configuration compiles its own networks
        name = "alone" if count is None else f"stacked-{count}"
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        try:
            steps = rate(training_step(config, device, count), seconds, 3, device)
        except Exception as err:  # reported, so one failing mode does not hide the others' figures
            rows[name] = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"}
            print(json.dumps({network: {compile_mode: {name: rows[name]}}}), file=sys.stderr, flush=True)
            continue
        rows[name] = {"seeds": count or 1, "steps_per_second": round(steps, 3),
                      "seed_steps_per_second": round(steps * (count or 1), 3)}
        if device.type == "cuda":
            rows[name]["peak_memory_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        print(json.dumps({network: {compile_mode: {name: rows[name]}}}), file=sys.stderr, flush=True)
    alone = rows.get("alone", {}).get("seed_steps_per_second")
    for row in rows.values():
        if alone and "seed_steps_per_second" in row:
            row["speedup"] = round(row["seed_steps_per_second"] / alone, 2)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--seconds", type=float, default=4.0, help="timed seconds per configuration")
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--compile", type=int, nargs="*", metavar="S",
                        help="also time compile=reduce-overhead (for these stack sizes only, when given)")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("stacked: no CUDA device is visible; use --device cpu", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    report: dict[str, Any] = {"benchmark": "stacked", "device": args.device, "preset": "wgan-gp (5 critic steps)",
                              "batch_per_seed": 64, **describe_machine(args.device), "networks": {}}
    started = time.perf_counter()
    for network in args.networks:
        report["networks"][network] = {"eager": measure(network, device, args.seeds, args.seconds, "off")}
        if args.compile is not None:
            report["networks"][network]["reduce-overhead"] = measure(network, device, args.compile or args.seeds,
                                                                     args.seconds, "reduce-overhead")
    report["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
