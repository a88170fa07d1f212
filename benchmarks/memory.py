"""Peak memory of real trainings: ``wganlab train`` in a child process, its peak resident set read by wait4.

Each case is a complete run as a user starts it — embedded MNIST held on the device, the in-training FID
evaluation (feature network and reference statistics), sample grids, checkpoints, TensorBoard — short, but long
enough that every one of those happens at least once. The baseline is the interpreter with wganlab's training
modules imported and nothing else. On a GPU (``--device cuda``) the child also reports torch's peak allocated
CUDA memory. Prints one JSON document.

Usage: python benchmarks/memory.py [--steps N] [--device cuda] [--cases wgan-gp-28 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

CASES = {
    "wgan-gp-28": ["wgan-gp", "data=mnist", "model.width=64"],  # the DCGAN papers' width, as measured so far
    "dcgan-28": ["dcgan", "data=mnist", "model.width=64"],
    "wgan-gp-toy": ["wgan-gp", "data=8gaussians"],
}
# The child trains, then prints its CUDA peak (if any) as its last line.
CHILD = """
import sys, torch
from wganlab.cli import main
code = main(sys.argv[1:])
peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0
print(f"CUDA_PEAK {peak}")
raise SystemExit(code)
"""
BASELINE = "import wganlab.training.trainer, wganlab.metrics.in_training"


def peak_rss_mib(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run ``command``; its peak resident set in MiB (Linux reports kilobytes), exit code and stdout."""
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return usage.ru_maxrss / 1024, child.returncode, out.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60, help="generator steps per run (evaluation at step 50)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    baseline, _, _ = peak_rss_mib([sys.executable, "-c", BASELINE], env)
    results = []
    for name in args.cases:
        with tempfile.TemporaryDirectory() as tmp:
            settings = [*CASES[name], f"steps={args.steps}", "eval_every=50", "sample_every=50",
                        "checkpoint_every=50", "log_every=10", f"device={args.device}", f"threads={args.threads}",
                        "--run-dir", str(Path(tmp) / "run"), "--quiet"]
            rss, code, stdout = peak_rss_mib([sys.executable, "-c", CHILD, "train", *settings], env)
        if code != 0:
            raise SystemExit(f"{name}: wganlab train exited with {code}")
        cuda = next((int(line.split()[1]) for line in stdout.splitlines() if line.startswith("CUDA_PEAK")), 0)
        results.append({"case": name, "command": "wganlab train " + " ".join(settings[:-3]),
                        "peak_rss_mib": round(rss, 1), "above_baseline_mib": round(rss - baseline, 1),
                        "cuda_peak_allocated_mib": round(cuda / 2**20, 1) if args.device == "cuda" else None})
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    print(json.dumps({"benchmark": "memory", "torch": torch.__version__, "python": platform.python_version(),
                      "baseline_rss_mib": round(baseline, 1), "results": results}, indent=2))


if __name__ == "__main__":
    main()
