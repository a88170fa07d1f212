"""Historical averaging: the running mean of past parameters and the penalty's gradient."""

from __future__ import annotations

import torch
from torch import nn

from wganlab.tricks.averaging.hook import HistoricalAverage


def test_mean_of_past_parameters_and_penalty_gradient():
    net = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 2.0]]))
    history = HistoricalAverage(net, weight=0.5)
    for values in ([[3.0, 2.0]], [[5.0, -1.0]]):
        with torch.no_grad():
            net.weight.copy_(torch.tensor(values))
        history.update()
    mean = torch.tensor([[3.0, 1.0]])  # mean of (1, 2), (3, 2), (5, -1)
    assert torch.allclose(history.means[0], mean)
    penalty = history.penalty()
    assert float(penalty.detach()) == 0.5 * float(((net.weight.detach() - mean) ** 2).sum())
    penalty.backward()
    assert torch.allclose(net.weight.grad, 2 * 0.5 * (net.weight.detach() - mean))


def test_the_hook_adds_weighted_distances_and_updates_each_mean_after_its_step():
    from tests.conftest import FakeStep
    from wganlab.training.hooks import CriticBatch
    from wganlab.tricks.averaging.hook import HistoricalAveraging

    context = FakeStep()
    hook = HistoricalAveraging(HistoricalAverage(context.generator, 0.5), HistoricalAverage(context.discriminator,
                                                                                             0.25))
    batch = CriticBatch(context.real, None, context.real, None)
    assert float(hook.critic_terms(batch, context)[0].value.detach()) == 0.0  # θ = θ̄ at the start
    with torch.no_grad():
        for p in context.discriminator.parameters():
            p.add_(1.0)  # 3 weights + 1 bias, each 1 from its mean: ‖θ − θ̄‖² = 4
    (term,) = hook.critic_terms(batch, context)
    assert (term.name, float(term.value.detach()), term.weight) == ("historical_distance_d", 4.0, 0.25)
    hook.after_critic_step(batch, context)  # θ̄ moves halfway (second sample of the running mean)
    assert float(hook.critic_terms(batch, context)[0].value.detach()) == 1.0
    assert hook.generator_terms(None, None, context)[0].name == "historical_distance_g"
    only_g = HistoricalAveraging(HistoricalAverage(context.generator, 0.5), None)
    assert only_g.critic_terms(batch, context) == [] and len(only_g.generator_terms(None, None, context)) == 1
