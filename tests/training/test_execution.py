"""How networks execute: bf16 autocast (the CPU runs the same code path a GPU does), channels-last, compile."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.parametrizations import _SpectralNorm

from tests.conftest import tiny_mnist, tiny_toy
from wganlab.lipschitz.spectral.norm import apply_spectral_norm
from wganlab.training import execution as engine
from wganlab.training.trainer import Trainer


def losses_after(config, tmp_path, steps: int = 3) -> list[float]:
    trainer = Trainer(config, tmp_path, tensorboard=False)
    for _ in range(steps):
        trainer.train_step()
    return [float(v) for v in trainer.monitor._sums]


def linear_output_dtypes(trainer: Trainer) -> set[torch.dtype]:
    seen: set[torch.dtype] = set()
    for module in trainer.discriminator.modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
            module.register_forward_hook(lambda m, i, out: seen.add(out.dtype))
    return seen


@pytest.mark.parametrize("preset", ["wgan-gp", "wgan-sn", "dcgan"])
def test_bf16_autocast_runs_the_critic_in_bf16_and_keeps_losses_float32(tmp_path, preset) -> None:
    trainer = Trainer(tiny_toy("precision=bf16", preset=preset), tmp_path, tensorboard=False)
    seen = linear_output_dtypes(trainer)
    trainer.train_step()
    assert seen == {torch.bfloat16}
    sums = trainer.monitor._sums
    assert sums.dtype == torch.float32 and torch.isfinite(sums).all()
    assert trainer.training.critic(torch.zeros(4, 2)).dtype == torch.float32
    fp32 = Trainer(tiny_toy(preset=preset), tmp_path / "fp32", tensorboard=False)
    seen = linear_output_dtypes(fp32)
    fp32.train_step()
    assert seen == {torch.float32}


def test_bf16_training_stays_close_to_float32_on_images(tmp_path) -> None:
    # Gulrajani et al.'s Adam 1e-4: at the preset's 1e-3 a few steps of rounding noise already move the losses
    gulrajani = ["g_optimizer.lr=1e-4", "d_optimizer.lr=1e-4", "g_optimizer.betas=[0,0.9]", "d_optimizer.betas=[0,0.9]"]
    bf16 = losses_after(tiny_mnist("precision=bf16", *gulrajani), tmp_path / "bf16")
    fp32 = losses_after(tiny_mnist(*gulrajani), tmp_path / "fp32")
    assert all(torch.isfinite(torch.tensor(bf16)))
    assert bf16 == pytest.approx(fp32, rel=0.1, abs=0.05)  # bf16 keeps ~3 significant digits per op


def test_spectral_norm_power_iteration_runs_outside_autocast(monkeypatch) -> None:
    states: list[bool] = []
    original = _SpectralNorm._power_method

    def spy(self, weight_mat, n_power_iterations):
        states.append(torch.is_autocast_enabled("cpu"))
        return original(self, weight_mat, n_power_iterations)

    monkeypatch.setattr(_SpectralNorm, "_power_method", spy)
    ours = torch.nn.Sequential(torch.nn.Linear(8, 8))
    apply_spectral_norm(ours)
    theirs = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(8, 8))
    states.clear()  # construction runs its own warm-up iterations
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = ours(torch.randn(2, 8))
        theirs(torch.randn(2, 8))
    assert states == [False, True]  # ours in float32; torch's own would run inside autocast
    assert out.dtype == torch.bfloat16  # the layer itself still runs in bf16
    assert ours[0].weight.dtype == torch.float32


def test_a_float64_critic_keeps_float64_through_spectral_norm() -> None:
    # W = diag(3, 1): σ = 3, so the normalized weight is diag(1, 1/3). torch's 15 warm-up iterations shrink the
    # power iteration's error by (1/3)^30, below float64 rounding; float32 would leave about 1e-7.
    torch.manual_seed(0)  # the iteration's random start
    layer = torch.nn.Linear(2, 2, bias=False, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.diag(torch.tensor([3.0, 1.0], dtype=torch.float64)))
    critic = torch.nn.Sequential(layer)
    apply_spectral_norm(critic)
    weight = critic[0].weight.detach()
    assert weight.dtype == torch.float64
    expected = torch.diag(torch.tensor([1.0, 1 / 3], dtype=torch.float64))
    assert float((weight - expected).abs().max()) < 1e-12


def test_channels_last_converts_the_networks_and_trains_the_same(tmp_path) -> None:
    config = tiny_mnist("channels_last=true", preset="dcgan")
    trainer = Trainer(config, tmp_path / "cl", tensorboard=False)
    convs = [m for m in trainer.discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    laid_out = trainer.training.run_critic.layout(torch.zeros(2, 1, 28, 28))
    assert laid_out.is_contiguous(memory_format=torch.channels_last)
    channels_last = losses_after(config, tmp_path / "cl2")
    contiguous = losses_after(tiny_mnist("channels_last=false", preset="dcgan"), tmp_path / "contiguous")
    assert channels_last == pytest.approx(contiguous, rel=1e-4, abs=1e-5)
    plain = Trainer(tiny_mnist("channels_last=false", preset="dcgan"), tmp_path / "plain", tensorboard=False)
    assert all(m.weight.is_contiguous() for m in plain.discriminator.modules() if isinstance(m, torch.nn.Conv2d))


@pytest.mark.parametrize("preset", ["wgan-gp", "dcgan", "wgan-sn"])
def test_compiled_networks_train_like_eager_ones_and_the_penalty_stays_eager(tmp_path, monkeypatch, preset) -> None:
    """Graph capture and compiled autograd through aot_eager (inductor's front half, no C++ build)."""
    torch._dynamo.reset()
    monkeypatch.setattr(engine, "COMPILE_BACKEND", "aot_eager")
    compiled = Trainer(tiny_toy("compile=default", preset=preset), tmp_path / "c", tensorboard=False)
    assert compiled.training.run_critic.compiled is not compiled.discriminator
    compiled_losses = losses_after(tiny_toy("compile=default", preset=preset), tmp_path / "c2")
    eager_losses = losses_after(tiny_toy(preset=preset), tmp_path / "e")
    assert compiled_losses == pytest.approx(eager_losses, rel=1e-4, abs=1e-5)
