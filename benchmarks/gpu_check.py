"""The prepared GPU check: every CUDA path wganlab has, proven in one call of at most 8 minutes on one GPU.

A session that is lent a GPU runs ``python benchmarks/gpu_check.py`` once and records the JSON it writes in
docs/performance.md. It runs, on the device:

* six checks, each pass/fail with its figures and the tolerance it was held to:
  - ``bf16_matches_fp32``: a 20-step WGAN-GP on MNIST-shaped data in bf16 autocast and in float32 from one seed:
    the networks' first outputs on one batch agree to bf16 precision, and the runs train alike;
  - ``fused_adam_equals_foreach``: the fused Adam kernels (what the optimizers use on a GPU) against foreach;
  - ``compile_trains_like_eager``: compiled networks (Inductor; on the CPU, aot_eager, so no C++ build) against
    eager ones: the same first outputs to float32 rounding, and alike over 10 steps;
  - ``deterministic_resume_is_bit_identical``: under ``torch.use_deterministic_algorithms``, 20 steps straight
    against 10 steps, a checkpoint, a resume and 10 more — the weights must be equal bit for bit;
  - ``one_process_group``: a one-process group on NCCL (gloo on the CPU): all-reduce, broadcast, barrier;
  - ``stacked_seeds_match_separate``: three seeds of the DTU study's WGAN-GP and of the spectrally normalized
    DCGAN stacked into one model (grouped cuDNN kernels, batched matrix products) against the three separate
    networks: outputs and gradients, TF32 off so that both sides compute in float32;
* the throughput benchmark (``benchmarks/throughput.py``: WGAN-GP on the 64x64 DCGAN, wganlab against the
  tutorial loop, images per second);
* a time-to-FID run (``benchmarks/time_to_fid.py``: WGAN-GP on the embedded MNIST, FID after 1, 2 and 4 minutes).

``--device cpu`` runs the same plumbing in seconds, with small sizes (CI runs it so that the script cannot rot
between GPU sessions). Exit code 1 when a check fails; the JSON is written either way.

Usage: python benchmarks/gpu_check.py [--device cuda|cpu] [--out gpu-check.json] [--skip NAME ...]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # before CUDA starts: deterministic cuBLAS

import torch

from wganlab.config import load_config
from wganlab.machine import describe_machine
from wganlab.training import execution as engine
from wganlab.training.start import resume_run, start_run

HERE = Path(__file__).resolve().parent
# Before any update, both runs hold the same weights: their networks' outputs on one fixed batch must agree to the
# precision computed in, relative to the outputs' scale. (The first critic *loss* is no measure: WGAN-GP's is a
# difference of two nearly equal means, whose relative error is unbounded; the first GPU run of this check saw
# 8.9 % on it.) After that, training amplifies rounding through Adam's normalisation, so the runs are held only
# to training alike.
BF16_OUTPUT_RTOL = 0.05  # bf16 keeps 8 mantissa bits (0.4 % per operation), accumulated over a few layers
BF16_LAST_LOSS_RTOL = 0.25  # after 20 steps the two runs have drifted; they must still train alike
BF16_SAMPLE_ATOL = 0.2  # mean |fp32 - bf16| of the generated pixels (range [-1, 1]) after 20 steps
FUSED_ATOL = 1e-6
COMPILE_OUTPUT_RTOL = 1e-3  # fused kernels reorder float32 sums: the same function to about 1e-6
COMPILE_LAST_LOSS_RTOL = 0.25  # ten Adam steps later: trains alike (the first GPU run saw 18.5 % at some step)
STACKED_RTOL = 1e-4  # float32 rounding of grouped against separate kernels, relative to each tensor's largest value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--out", type=Path, default=Path("gpu-check.json"))
    parser.add_argument("--skip", nargs="*", default=[], metavar="NAME",
                        help="checks or parts to leave out: a check's name, throughput, time_to_fid")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA device is visible (torch.cuda.is_available() is False); run with --device cpu "
              "to check the plumbing", file=sys.stderr)
        return 2
    started = time.perf_counter()
    report: dict[str, Any] = {"benchmark": "gpu_check", "device": args.device, **machine(args.device),
                              "checks": {}}
    for name, check in CHECKS.items():
        if name in args.skip:
            report["checks"][name] = {"passed": None, "skipped": "--skip"}
            continue
        report["checks"][name] = run_check(check, args.device)
        print(json.dumps({name: report["checks"][name]}), file=sys.stderr, flush=True)
    quick = args.device == "cpu"
    if "throughput" not in args.skip:
        network = "toy-mlp" if quick else "dcgan-64"
        report["throughput"] = benchmark("throughput.py", "--device", args.device, "--presets", "wgan-gp",
                                         "--networks", network, "--seconds", "0.5" if quick else "5",
                                         "--rounds", "2" if quick else "3")
    if "time_to_fid" not in args.skip:
        minutes = ["0.02"] if quick else ["1", "2", "4"]
        report["time_to_fid"] = benchmark("time_to_fid.py", "--presets", "wgan-gp", "--minutes", *minutes,
                                          "--eval-samples", "500" if quick else "5000",
                                          "--set", f"device={args.device}")
    report["seconds"] = round(time.perf_counter() - started, 1)
    failed = [name for name, result in report["checks"].items() if result.get("passed") is False]
    failed += [part for part in ("throughput", "time_to_fid") if report.get(part, {}).get("error")]
    report["passed"] = not failed
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report, indent=2))
    print(f"gpu_check: {'all passed' if not failed else 'FAILED: ' + ', '.join(failed)} in {report['seconds']} s; "
          f"written to {args.out}", file=sys.stderr)
    return 0 if not failed else 1


def machine(device: str) -> dict[str, Any]:
    """The machine (wganlab.machine) and the host's name, to tell two sessions' reports apart."""
    return {**describe_machine(device), "host": socket.gethostname()}


def run_check(check: Callable[[str], dict[str, Any]], device: str) -> dict[str, Any]:
    """A check's figures and verdict; an exception is a failure with its first line, never a crash of the rest."""
    started = time.perf_counter()
    try:
        result = check(device)
    except Exception as err:
        lines = traceback.format_exception_only(type(err), err)
        result = {"passed": False, "error": lines[-1].strip()[:500]}
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


# ------------------------------------------------------------------------------------------------ checks


def tiny(device: str, *overrides: str, data: str = "mnist") -> Any:
    return load_config("wgan-gp", [f"data={data}", "model.width=8", "batch_size=16", "log_every=1", "eval_every=0",
                                   "sample_every=100000", "checkpoint_every=100000", f"device={device}", *overrides])


def trace(config: Any, steps: int) -> tuple[list[float], torch.Tensor, torch.Tensor]:
    """Critic losses of ``steps`` steps, the samples of the fixed noise after them, and, before the first step,
    both networks' outputs on a fixed batch (the critic on images, the generator on latents), as the step's
    runners compute them (autocast, compilation)."""
    with tempfile.TemporaryDirectory() as tmp:
        trainer = start_run(config, Path(tmp) / "run", tensorboard=False)
        training = trainer.training
        fixed = torch.Generator().manual_seed(1)
        latents = torch.randn(config.batch_size, training.latent_dim, generator=fixed).to(trainer.device)
        images = (torch.rand(2 * config.batch_size, *trainer.data.shape, generator=fixed) * 2 - 1).to(trainer.device)
        with torch.no_grad():
            first = torch.cat([training.run_critic(images).flatten(), training.run_generator(latents).flatten()])
        losses = []
        for _ in range(steps):
            trainer.train_step()
            losses.append(trainer.flush_stats()["d_loss"])
        with torch.no_grad():
            samples = trainer.generator(trainer.snapshots.noise[:16]).float().cpu()
        trainer.close()
    return losses, samples, first.float().cpu()


def output_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """The largest difference between two runs' outputs, relative to the largest output."""
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


def relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def bf16_matches_fp32(device: str) -> dict[str, Any]:
    full, full_samples, full_first = trace(tiny(device, "precision=fp32", "steps=20"), 20)
    half, half_samples, half_first = trace(tiny(device, "precision=bf16", "steps=20"), 20)
    outputs = output_difference(half_first, full_first)
    first = relative(full[0], half[0])
    last = relative(sum(full[-5:]) / 5, sum(half[-5:]) / 5)
    pixels = float((full_samples - half_samples).abs().mean())
    passed = outputs <= BF16_OUTPUT_RTOL and last <= BF16_LAST_LOSS_RTOL and pixels <= BF16_SAMPLE_ATOL
    return {"passed": passed, "first_outputs_rel_diff": round(outputs, 5), "last5_loss_rel_diff": round(last, 4),
            "sample_mean_abs_diff": round(pixels, 4), "first_loss_rel_diff (reported, not judged)": round(first, 4),
            "tolerance": {"first_outputs_rel": BF16_OUTPUT_RTOL, "last5_loss_rel": BF16_LAST_LOSS_RTOL,
                          "sample_mean_abs": BF16_SAMPLE_ATOL}}


def fused_adam_equals_foreach(device: str) -> dict[str, Any]:
    torch.manual_seed(0)
    shapes = [(256, 128), (128,), (64, 32, 3, 3), (1,)]
    start = [torch.randn(shape, device=device) for shape in shapes]
    grads = [[torch.randn(shape, device=device) for shape in shapes] for _ in range(5)]
    finals = {}
    for kind in ("fused", "foreach"):
        params = [torch.nn.Parameter(p.clone()) for p in start]
        optimizer = torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.9), **{kind: True})
        for step_grads in grads:
            for param, grad in zip(params, step_grads, strict=True):
                param.grad = grad.clone()
            optimizer.step()
        finals[kind] = [param.detach() for param in params]
    diff = max(float((a - b).abs().max()) for a, b in zip(finals["fused"], finals["foreach"], strict=True))
    return {"passed": diff <= FUSED_ATOL, "max_abs_diff": diff, "tolerance": FUSED_ATOL, "steps": len(grads)}


def compile_trains_like_eager(device: str) -> dict[str, Any]:
    backend = "inductor" if device == "cuda" else "aot_eager"  # the CPU check skips the C++ build
    torch._dynamo.reset()
    previous, engine.COMPILE_BACKEND = engine.COMPILE_BACKEND, backend
    try:
        compiled, _, compiled_first = trace(tiny(device, "compile=default", "steps=10"), 10)
    finally:
        engine.COMPILE_BACKEND = previous
    eager, _, eager_first = trace(tiny(device, "compile=off", "steps=10"), 10)
    outputs = output_difference(compiled_first, eager_first)
    last = relative(sum(compiled[-5:]) / 5, sum(eager[-5:]) / 5)
    worst = max(relative(a, b) for a, b in zip(compiled, eager, strict=True))
    return {"passed": outputs <= COMPILE_OUTPUT_RTOL and last <= COMPILE_LAST_LOSS_RTOL, "backend": backend,
            "first_outputs_rel_diff": outputs, "last5_loss_rel_diff": round(last, 4),
            "max_loss_rel_diff (reported, not judged)": worst,
            "tolerance": {"first_outputs_rel": COMPILE_OUTPUT_RTOL, "last5_loss_rel": COMPILE_LAST_LOSS_RTOL},
            "steps": 10}


@contextlib.contextmanager
def deterministic() -> Iterator[None]:
    before = torch.are_deterministic_algorithms_enabled()
    cudnn = torch.backends.cudnn.benchmark
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)
        torch.backends.cudnn.benchmark = cudnn


def deterministic_resume_is_bit_identical(device: str) -> dict[str, Any]:
    config = tiny(device, "steps=20", "log_every=5", "checkpoint_every=10")
    with deterministic(), tempfile.TemporaryDirectory() as tmp:
        straight = start_run(config, Path(tmp) / "straight", tensorboard=False)
        straight.run(progress=False)
        halves = start_run(config, Path(tmp) / "halves", tensorboard=False)
        halves.run(stop_at=10, progress=False)
        resumed = resume_run(Path(tmp) / "halves", tensorboard=False)
        resumed.run(progress=False)
        pairs = [(name, tensor, resumed_state[name])
                 for network in ("generator", "discriminator")
                 for resumed_state in [getattr(resumed, network).state_dict()]
                 for name, tensor in getattr(straight, network).state_dict().items()]
        different = [name for name, a, b in pairs if not torch.equal(a, b)]
    return {"passed": not different, "tensors_compared": len(pairs), "different": different[:5],
            "steps": 20, "resumed_at": 10}


def one_process_group(device: str) -> dict[str, Any]:
    import torch.distributed as dist

    backend = "nccl" if device == "cuda" else "gloo"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    try:
        value = torch.full((1024,), 2.0, device=device)
        dist.all_reduce(value)
        box = [{"run_dir": "runs/x"}]
        dist.broadcast_object_list(box, src=0)
        dist.barrier()
        ok = bool((value == 2.0).all()) and box == [{"run_dir": "runs/x"}]
    finally:
        dist.destroy_process_group()
    return {"passed": ok, "backend": backend, "nccl_version": ".".join(map(str, torch.cuda.nccl.version()))
            if device == "cuda" else None}


def stacked_seeds_match_separate(device: str) -> dict[str, Any]:
    from wganlab.nets.build import build_networks
    from wganlab.stacking.trainer import stack_network
    from wganlab.training.trainer import seed_everything

    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    worst: dict[str, float] = {}
    try:
        for preset, overrides in (("dtu-wgan-gp", []), ("wgan-sn", ["model.width=16"])):
            built = []
            for seed in range(3):
                seed_everything(seed)
                built.append(build_networks(load_config(preset, ["data=mnist", f"seed={seed}", *overrides]),
                                            (1, 28, 28)))
            for role in ("generator", "discriminator"):
                networks = [getattr(nets, role).to(device) for nets in built]
                stacked = stack_network(networks).to(device)
                inputs = [torch.randn(16, built[0].latent_dim, device=device) if role == "generator"
                          else torch.randn(16, 1, 28, 28, device=device) for _ in networks]
                outputs = [network(x) for network, x in zip(networks, inputs, strict=True)]
                joint = stacked(torch.cat(inputs))
                joint.square().sum().backward()
                for out in outputs:
                    out.square().sum().backward()
                expected = torch.cat(outputs)
                errors = [float((joint - expected).abs().max() / expected.abs().max())]
                for whole, *own in zip(stacked.parameters(), *[n.parameters() for n in networks], strict=True):
                    grads = torch.stack([p.grad for p in own]).reshape(whole.shape)
                    errors.append(float((whole.grad - grads).abs().max() / grads.abs().max().clamp_min(1e-12)))
                worst[f"{preset} {role}"] = max(errors)
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    return {"passed": max(worst.values()) <= STACKED_RTOL, "max_rel_diff": worst, "tolerance": STACKED_RTOL}


CHECKS: dict[str, Callable[[str], dict[str, Any]]] = {
    "bf16_matches_fp32": bf16_matches_fp32,
    "fused_adam_equals_foreach": fused_adam_equals_foreach,
    "compile_trains_like_eager": compile_trains_like_eager,
    "deterministic_resume_is_bit_identical": deterministic_resume_is_bit_identical,
    "one_process_group": one_process_group,
    "stacked_seeds_match_separate": stacked_seeds_match_separate,
}


def benchmark(script: str, *args: str) -> dict[str, Any]:
    """Another benchmark of this folder in its own process; its JSON, or the error it ended with."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / script), *args], capture_output=True, text=True)
    seconds = round(time.perf_counter() - started, 1)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{script} exited with {done.returncode}: {tail[:300]}", "seconds": seconds}
    try:
        return {"result": json.loads(done.stdout), "seconds": seconds}
    except json.JSONDecodeError as err:
        return {"error": f"{script} printed no JSON ({err})", "seconds": seconds}


if __name__ == "__main__":
    sys.exit(main())
