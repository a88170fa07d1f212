"""The fixed-noise snapshots: one pass through the generator for a step that both logs and samples, never a
stale one once the weights have moved."""

import torch

from tests.conftest import tiny_mnist, tiny_toy
from tests.training.test_trainer import train
from wganlab.rundir.log import read_metrics
from wganlab.training.start import start_run


def count_fixed_draws(trainer) -> list[int]:
    """A list that grows by one each time the sampling generator is run on the fixed latents."""
    draws: list[int] = []
    fixed = trainer.snapshots.noise

    def seen(module, args, output):
        if args[0].shape == fixed.shape and torch.equal(args[0], fixed):
            draws.append(trainer.step)

    trainer.sampling_generator().register_forward_hook(seen)
    return draws


def test_a_step_that_logs_and_samples_draws_the_fixed_latents_once(tmp_path):
    trainer = start_run(tiny_mnist("steps=8", "log_every=2", "sample_every=4"), tmp_path / "r", tensorboard=False)
    draws = count_fixed_draws(trainer)
    trainer.run(progress=False)
    assert draws == [2, 4, 6, 8]  # logs at 2, 4, 6, 8; samples at 4 and 8 reuse the log's draw
    assert sorted(p.name for p in (tmp_path / "r" / "samples").glob("step_*.png")) == \
        ["step_00000004.png", "step_00000008.png"]
    diversities = [r["diversity"] for r in read_metrics(tmp_path / "r")]
    assert len(diversities) == 4 and all(d > 0 for d in diversities)


def test_draws_are_shared_only_while_the_weights_cannot_change(tmp_path):
    trainer = train(tiny_mnist("steps=2"), tmp_path / "r")
    snapshots, generator = trainer.snapshots, trainer.sampling_generator()
    draws = count_fixed_draws(trainer)
    with snapshots.same_weights():
        inside = snapshots.draw(generator), snapshots.draw(generator, 1000)  # n past the latents: all of them
    assert len(draws) == 1 and inside[0] is inside[1]
    with torch.no_grad():
        next(generator.parameters()).add_(1.0)  # the weights move, as the next step moves them
    after = snapshots.draw(generator)
    assert len(draws) == 2 and not torch.equal(after, inside[0])


def test_a_toy_draws_its_picture_and_its_diversity_apart(tmp_path):
    """A toy's picture draws all 1,000 fixed latents and its diversity the first 256: two draws, each its size."""
    trainer = train(tiny_toy("steps=2"), tmp_path / "r")
    snapshots, generator = trainer.snapshots, trainer.sampling_generator()
    sizes: list[int] = []
    generator.register_forward_hook(lambda module, args, output: sizes.append(len(args[0])))
    with snapshots.same_weights():
        few, every = snapshots.draw(generator, 256), snapshots.draw(generator)
        assert snapshots.draw(generator, 256) is few
    assert (len(few), len(every), sizes) == (256, 1000, [256, 1000])
