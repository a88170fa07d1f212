"""The generator's moving average: Karras et al.'s warm-up, then the configured decay; sampling uses it."""

from __future__ import annotations

import torch

from tests.conftest import FakeStep
from wganlab.tricks.ema.hook import GeneratorAverage


def test_the_average_warms_up_then_follows_the_configured_decay():
    context = FakeStep()
    hook = GeneratorAverage(context.generator, decay=0.5)
    assert hook.sampling_generator() is hook.network and not hook.network.training
    start = context.generator.weight.detach().clone()
    with torch.no_grad():
        context.generator.weight.add_(1.0)
    hook.after_generator_step(context)  # step 0: decay min(0.5, 1/10) = 0.1, so 90% of the way
    assert torch.allclose(hook.network.weight, start + 0.9)
    context.step = 100  # warmed up: decay 0.5
    with torch.no_grad():
        context.generator.weight.add_(1.0)
    hook.after_generator_step(context)
    assert torch.allclose(hook.network.weight, start + 0.5 * 0.9 + 0.5 * 2.0)
    assert not any(p.requires_grad for p in hook.network.parameters())
    assert torch.equal(hook.state_dict()["network"]["weight"], hook.network.weight)
