"""One stacked step equals S separate steps: with the same weights, data, latents and interpolation weights,
each seed's losses, gradients and updated weights are those of its own ordinary step, for every objective and
Lipschitz method the stacked studies use.

The comparison runs in float64, where both sides agree to about 1e-15 and a stacking mistake (a seed reading
another's slice, a statistic pooled over seeds) still shows at full size. In float32 the grouped and the separate
kernels round differently, and five critic updates grow that rounding by host: on an AVX2 CPU with one thread the
WGAN-SN critic's gradients differed by 6e-4 of their largest value, on AVX-512 by under 1e-5, so no float32
tolerance both holds on every CPU and stays tight.

The step is compared under SGD with momentum: Adam and RMSProp divide each gradient by its own running scale,
so a parameter whose gradient is rounding noise (a bias before batch norm, whose true gradient is 0) moves by a
full ±lr on noise, in a stack and alone alike. That those optimizers are exact per seed on stacked tensors is
tested on its own below, from identical gradients."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import tiny_mnist, tiny_toy
from wganlab.config import OptimizerConfig
from wganlab.nets.build import build_networks
from wganlab.stacking.axis import SeedAxis
from wganlab.stacking.trainer import StackedSource, stack_network
from wganlab.training.distributed import Distributed
from wganlab.training.optim import make_optimizer
from wganlab.training.step import TrainingStep
from wganlab.training.trainer import seed_everything

SEEDS = 2


class FixedBatches:
    """Real batches drawn in advance from the seed's own stream (so the patched torch.randn cannot touch them)."""

    def __init__(self, seed: int, shape: tuple[int, ...], batch: int, count: int = 110) -> None:
        generator = torch.Generator().manual_seed(100 + seed)
        self.shape, self.is_vectors = shape, len(shape) == 1
        self.batches = [torch.randn(batch, *shape, generator=generator).clamp(-1, 1) for _ in range(count)]

    def sample(self, batch_size: int) -> torch.Tensor:
        batch = self.batches.pop(0)
        assert len(batch) == batch_size
        return batch


class ScriptedNoise:
    """torch.randn / torch.rand as the step calls them (latents, interpolation weights): the k-th draw of seed s
    is the same tensor whether seed s trains alone or in a stack, where the k-th draw is every seed's, seed-major."""

    def __init__(self, real: dict[str, object], seed: int | None) -> None:
        self.real, self.seed, self.calls = real, seed, {"randn": 0, "rand": 0}

    def draw(self, kind: str, size: tuple[int, ...], **options: object) -> torch.Tensor:
        index = self.calls[kind]
        self.calls[kind] += 1
        seeds = [self.seed] if self.seed is not None else list(range(SEEDS))
        rows = size[0] // len(seeds)
        parts = [self.real[kind](rows, *size[1:], generator=torch.Generator().manual_seed(1000 * index + s))
                 for s in seeds]
        return torch.cat(parts).to(options.get("dtype") or torch.get_default_dtype())

    def patch(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for kind in ("randn", "rand"):
            monkeypatch.setattr(torch, kind, lambda *size, _k=kind, **o: self.draw(
                _k, tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)) else size,
                **o))


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    """The largest difference relative to the tensor's scale (a seed's whole parameter or gradient)."""
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


SGD = [f"{net}_optimizer.{key}={value}" for net in "gd" for key, value in
       (("name", "sgd"), ("lr", 0.01), ("momentum", 0.5))]
# float64 rounding over one step stays near 1e-15 of each tensor's scale; 1e-10 leaves room for any CPU's kernels.
TOLERANCE = 1e-10
# Every case runs with channels_last (the default: the step converts 4-D weights and inputs to NHWC), but one.
CASES = {  # objective and Lipschitz method: gan, hinge, wgan-wc, wgan-gp (penalty included), wgan-sn, R1 + R2
    "gan-toy": tiny_toy(*SGD, preset="gan"),
    "wgan-wc-toy": tiny_toy(*SGD, preset="wgan-wc"),
    "wgan-gp-toy": tiny_toy(*SGD, preset="wgan-gp"),
    "wgan-gp-dcgan": tiny_mnist(*SGD, preset="wgan-gp"),
    "wgan-sn-dcgan": tiny_mnist(*SGD, preset="wgan-sn"),
    "hinge-sn-dcgan": tiny_mnist(*SGD, preset="hinge-sn"),
    "rpgan-r1r2-toy": tiny_toy(*SGD, preset="rpgan-r1r2"),
    "dtu-wgan-gp": tiny_mnist(*SGD, "model.arch=dtu-dcgan", "model.d_norm=batch", preset="dtu-wgan-gp"),
    "dtu-wgan-sn": tiny_mnist(*SGD, "model.arch=dtu-dcgan", "model.d_norm=layer", preset="dtu-wgan-sn"),
    "wgan-gp-contiguous": tiny_mnist(*SGD, "channels_last=false", preset="wgan-gp"),
    "dcgan-ema": tiny_mnist(*SGD, "ema=0.9", preset="dcgan"),
}


@pytest.fixture
def float64():
    """Networks, batches and noise in float64 for one test (see the module's docstring for why)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


@pytest.mark.parametrize("name", list(CASES))
def test_one_stacked_step_equals_separate_steps(name, monkeypatch, float64):
    config = CASES[name]
    shape = (2,) if config.is_vectors else (1, 28, 28)
    batch = config.resolved_batch_size
    separate = []
    for seed in range(SEEDS):
        seed_everything(seed)
        nets = build_networks(config, shape)
        separate.append(TrainingStep(config, nets.generator, nets.discriminator, nets.latent_dim, 0,
                                     FixedBatches(seed, shape, batch), torch.device("cpu"), Distributed()))
    stacked = TrainingStep(config, stack_network([s.generator for s in separate]),
                           stack_network([s.discriminator for s in separate]), separate[0].latent_dim, 0,
                           StackedSource([FixedBatches(seed, shape, batch) for seed in range(SEEDS)]),
                           torch.device("cpu"), Distributed(), SeedAxis(SEEDS))
    real = {"randn": torch.randn, "rand": torch.rand}
    stacked_noise = ScriptedNoise(real, None)
    stacked_noise.patch(monkeypatch)
    stacked_losses = stacked()
    separate_losses = []
    for seed, step in enumerate(separate):
        ScriptedNoise(real, seed).patch(monkeypatch)
        separate_losses.append(step())
    monkeypatch.undo()

    assert set(stacked_losses) == set(separate_losses[0])
    for key, values in stacked_losses.items():
        assert values.shape == (SEEDS,), key
        expected = torch.stack([losses[key] for losses in separate_losses])
        assert values.dtype == torch.float64, key
        torch.testing.assert_close(values, expected, rtol=TOLERANCE, atol=TOLERANCE,
                                   msg=lambda m, k=key: f"{k}: {m}")
    for role in ("generator", "discriminator"):  # weights and gradients, to TOLERANCE of the network's largest
        pairs = [(label, param, [p for p in own]) for (label, param), *own in
                 zip(getattr(stacked, role).named_parameters(), *[getattr(s, role).parameters() for s in separate],
                     strict=True)]
        for kind in ("weight", "gradient"):
            value = (lambda t: t.detach()) if kind == "weight" else (lambda t: t.grad)
            scale = max(float(value(p).abs().max()) for _, _, own in pairs for p in own)
            for label, param, own in pairs:
                expected = torch.stack([value(p) for p in own]).reshape(param.shape)
                tolerance = TOLERANCE * scale
                assert float((value(param) - expected).abs().max()) <= tolerance, f"{role}.{label} {kind}"
    if config.ema:
        averaged = stacked.sampling_generator()
        for (label, param), *own in zip(averaged.named_parameters(),
                                        *[s.sampling_generator().parameters() for s in separate], strict=True):
            assert relative(param, torch.stack(own).reshape(param.shape)) < TOLERANCE, label


@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_adaptive_optimizers_update_each_seeds_slice_as_its_own_optimizer(name):
    """Adam and RMSProp are element-wise: on stacked parameters with each seed's gradient in its slice, three
    updates give every seed exactly its own optimizer's weights (bit for bit) and moments."""
    settings = OptimizerConfig(name=name, lr=1e-3, betas=(0.5, 0.9))
    torch.manual_seed(0)
    separate = [[torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.randn(3))] for _ in range(SEEDS)]
    stacked = [torch.nn.Parameter(torch.stack([params[i].detach() for params in separate])) for i in range(2)]
    optimizers = [make_optimizer(params, settings) for params in separate]
    joint = make_optimizer(stacked, settings)
    for _ in range(3):
        grads = [[torch.randn_like(p) * 1e-6 for p in params] for params in separate]  # small: eps matters
        for params, own, optimizer in zip(separate, grads, optimizers, strict=True):
            for param, grad in zip(params, own, strict=True):
                param.grad = grad
            optimizer.step()
        for i, param in enumerate(stacked):
            param.grad = torch.stack([own[i] for own in grads])
        joint.step()
    for i, param in enumerate(stacked):
        assert torch.equal(param.detach(), torch.stack([params[i].detach() for params in separate]))
