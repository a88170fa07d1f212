"""Data-parallel scaling: the same run (same global batch, same steps) on 1 and on N torchrun processes.

Each job is ``torchrun --standalone --nproc_per_node N -m wganlab train ...``; the CPU's cores are split evenly
between the processes (``OMP_NUM_THREADS = cores / N``, as two torch processes with all cores each slow each
other down by up to 10x here). Reports rank 0's training seconds (the loop only, from ``metrics.jsonl``), the
job's wall-clock seconds (start-up, rendezvous and writing included) and global images per second.
On a GPU machine pass ``--device cuda``: one process per GPU.

Usage: python benchmarks/ddp.py [--processes 1 2] [--steps N] [--cases toy dcgan-28]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

CASES = {
    "toy": ["wgan-gp", "data=8gaussians", "batch_size=256"],
    "dcgan-28": ["wgan-gp", "data=mnist", "batch_size=64"],
}


def run_job(case: str, processes: int, steps: int, device: str, cores: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        settings = [*CASES[case], f"steps={steps}", "critic_burst=false", "eval_every=0", f"log_every={steps}",
                    f"sample_every={steps}", f"checkpoint_every={steps}", f"device={device}"]
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                   "-m", "wganlab", "train", *settings, "--run-dir", str(run_dir), "--quiet"]
        env = {**os.environ, "OMP_NUM_THREADS": str(max(1, cores // processes))}
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            log = Path(tempfile.gettempdir()) / f"wganlab-ddp-{case}-{processes}.log"
            log.write_text(done.stderr)
            raise SystemExit(f"{case} on {processes} processes failed (exit {done.returncode}); its output: {log}")
        last = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    batch = int(settings[2].split("=")[1])
    return {"case": case, "processes": processes, "threads_per_process": max(1, cores // processes),
            "global_batch": batch, "steps": steps, "train_seconds": last["seconds"], "wall_seconds": round(wall, 2),
            "images_per_s": round(steps * batch / last["seconds"], 1), "final_d_loss": last["d_loss"],
            "command": "torchrun --standalone --nproc_per_node " + str(processes) + " -m wganlab train "
                       + " ".join(settings)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", nargs="*", type=int, default=[1, 2])
    parser.add_argument("--steps", type=int, default=0, help="0: 400 for the toy, 30 for the DCGAN")
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    results = []
    for case in args.cases:
        steps = args.steps or (400 if case == "toy" else 30)
        rows = [run_job(case, n, steps, args.device, args.cores) for n in args.processes]
        for row in rows:
            row["speedup_vs_first"] = round(row["images_per_s"] / rows[0]["images_per_s"], 3)
            print(json.dumps(row), file=sys.stderr, flush=True)
        results += rows
    print(json.dumps({"benchmark": "ddp", "torch": torch.__version__, "cores": args.cores, "device": args.device,
                      "results": results}, indent=2))


if __name__ == "__main__":
    main()
