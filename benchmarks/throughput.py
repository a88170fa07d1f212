"""Training throughput: wganlab's loop against a plain tutorial loop on the same networks, in one run.

For each preset (gan, dcgan, wgan-wc, wgan-gp, wgan-sn) and each network (the 2D-toy MLP at batch 256, the
DCGAN family at 28, 32 and 64 pixels at batch 64) it measures generator and critic updates per second of
  * wganlab's Trainer (batches drawn on the device, losses read every ``log_every`` steps, multi-tensor
    optimizers, plus whatever ``--set`` adds: ``precision=bf16``, ``channels_last=true``, ``compile=default``),
  * a reference loop as a tutorial user writes it: a DataLoader over the dataset copied to the device batch by
    batch, torch's default optimizers, separate critic calls on real and fake batches, a separate pass for the
    gradient penalty, and ``.item()`` on every loss every step,
and prints one JSON document with both, their ratio and images per second. The two loops run in alternating
windows and each rate is the median over the windows; Arjovsky's 100-step critic bursts are switched off in
both loops so the figures are steady-state rates.

Usage: python benchmarks/throughput.py [--seconds S] [--device cuda] [--set precision=bf16 ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from wganlab.config import OptimizerConfig, RunConfig, load_config
from wganlab.data.images import InMemoryImages
from wganlab.lipschitz.clipping.hook import clip_weights_
from wganlab.lipschitz.penalty.hook import gradient_penalty
from wganlab.machine import describe_machine
from wganlab.nets.build import build_networks
from wganlab.objectives import make_objective
from wganlab.training.trainer import Trainer

PRESETS = ["gan", "dcgan", "wgan-wc", "wgan-gp", "wgan-sn"]
NETWORKS = {"toy-mlp": ("8gaussians", None), "dcgan-28": ("mnist", (1, 28, 28)), "dcgan-32": ("mnist", (3, 32, 32)),
            "dcgan-64": ("mnist", (3, 64, 64))}


def config_for(preset: str, network: str, device: str, settings: list[str] = ()) -> RunConfig:
    data, _ = NETWORKS[network]
    # The DCGANs at width 64, the papers' network and the one these tables have always measured; the presets'
    # width 16 is for short CPU runs (docs/performance.md, time to FID). The toy MLP keeps its preset width.
    width = [] if network == "toy-mlp" else ["model.width=64"]
    return load_config(preset, [f"data={data}", *width, "critic_burst=false", "log_every=100", "sample_every=1000000",
                                "eval_every=0", "checkpoint_every=1000000", "steps=1000000", f"device={device}",
                                *settings])


def synthetic_images(shape: tuple[int, int, int], n: int = 2048) -> torch.Tensor:
    return torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def interleaved_rates(steps: dict, seconds: float, rounds: int, warmup: int = 3,
                      sync=lambda: None) -> dict[str, float]:
    """Median steps per second of each ``step()`` over ``rounds`` alternating windows of ``seconds / rounds``.

    Alternating the loops inside one measurement cancels the slow drifts of a shared machine (other
    tenants, frequency changes) that would otherwise favour whichever loop happened to run first.
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    sync()
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            count, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds / rounds or count < 2:
                step()
                count += 1
            sync()  # a GPU's queued work belongs to the window that queued it
            samples[name].append(count / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in samples.items()}


def wganlab_step(config: RunConfig, network: str, run_dir: Path):
    _, shape = NETWORKS[network]
    data = None
    if shape is not None and shape != (1, 28, 28):
        data = InMemoryImages(synthetic_images(shape), None, torch.device(config.device))
    trainer = Trainer(config, run_dir, tensorboard=False, data=data)

    def step() -> None:
        trainer.train_step()
        if trainer.step % config.log_every == 0:
            trainer.flush_stats()

    return step


def tutorial_optimizer(params, config: OptimizerConfig) -> torch.optim.Optimizer:
    """The optimizer as tutorials construct it: torch's defaults, which on a CPU mean a loop over parameters."""
    if config.name == "adam":
        return torch.optim.Adam(params, lr=config.lr, betas=config.betas)
    if config.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=config.lr)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum)


def reference_step(config: RunConfig, network: str):
    """The same networks and hyper-parameters in the loop most tutorials show."""
    _, shape = NETWORKS[network]
    if shape is None:
        from wganlab.data.toy import eight_gaussians

        dataset = TensorDataset(eight_gaussians().sample(100_000, torch.device("cpu")))
        sample_shape = (2,)
    else:
        from wganlab.data.sources import embedded_mnist

        images = torch.from_numpy(embedded_mnist()[0])[:, None] if shape == (1, 28, 28) else synthetic_images(shape)
        dataset = TensorDataset(images.float() / 127.5 - 1)
        sample_shape = shape
    device = torch.device(config.device)
    nets = build_networks(config, sample_shape)
    generator, critic = nets.generator.to(device), nets.discriminator.to(device)
    objective = make_objective(config.objective)
    g_opt = tutorial_optimizer(generator.parameters(), config.g_optimizer)
    d_opt = tutorial_optimizer(critic.parameters(), config.d_optimizer)
    batch = config.resolved_batch_size
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True)
    batches = iter(loader)
    gp = config.lipschitz.gradient_penalty
    history: list[float] = []

    def next_real() -> torch.Tensor:
        nonlocal batches
        try:
            return next(batches)[0].to(device)
        except StopIteration:
            batches = iter(loader)
            return next(batches)[0].to(device)

    def step() -> None:
        for _ in range(config.critic_steps):
            real = next_real()
            fake = generator(torch.randn(batch, nets.latent_dim, device=device)).detach()
            loss = objective.critic_loss(critic(real).flatten(), critic(fake).flatten())
            if gp.weight > 0:
                loss = loss + gp.weight * gradient_penalty(critic, real, fake, gp.target, gp.one_sided)
            d_opt.zero_grad()
            loss.backward()
            d_opt.step()
            if config.lipschitz.clip > 0:
                clip_weights_(critic, config.lipschitz.clip)
            history.append(loss.item())
        g_loss = objective.generator_loss(critic(generator(torch.randn(batch, nets.latent_dim,
                                                                       device=device))).flatten())
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        history.append(g_loss.item())

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0, help="timed seconds per loop and measurement")
    parser.add_argument("--rounds", type=int, default=4, help="alternating windows per measurement")
    parser.add_argument("--presets", nargs="*", default=PRESETS)
    parser.add_argument("--networks", nargs="*", default=["toy-mlp", "dcgan-28", "dcgan-32"],
                        choices=list(NETWORKS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="settings for wganlab's loop only, e.g. precision=bf16 channels_last=true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    results = []
    for network in args.networks:
        for preset in args.presets:
            config = config_for(preset, network, args.device, args.set)
            with tempfile.TemporaryDirectory() as tmp:
                torch.manual_seed(0)
                loops = {"wganlab": wganlab_step(config, network, Path(tmp)),
                         "reference": reference_step(config_for(preset, network, args.device), network)}
                rates = interleaved_rates(loops, args.seconds, args.rounds, sync=sync)
            results.append(result_row(preset, network, config, rates["wganlab"], rates["reference"]))
            print(json.dumps(results[-1]), flush=True, file=sys.stderr)
    print(json.dumps({"benchmark": "throughput", "device": args.device, **describe_machine(args.device),
                      "settings": args.set, "results": results}, indent=2))


def result_row(preset: str, network: str, config: RunConfig, ours: float, reference: float) -> dict:
    batch = config.resolved_batch_size

    def rates(g_steps: float) -> dict:
        return {"generator_steps_per_s": round(g_steps, 3),
                "critic_steps_per_s": round(g_steps * config.critic_steps, 3),
                "images_per_s": round(g_steps * batch, 1)}

    return {"preset": preset, "network": network, "batch_size": batch, "critic_steps": config.critic_steps,
            "wganlab": rates(ours), "reference_loop": rates(reference), "speedup": round(ours / reference, 3)}


if __name__ == "__main__":
    main()
