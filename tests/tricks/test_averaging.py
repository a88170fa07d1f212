"""Historical averaging: the running mean of past parameters and the penalty's gradient."""

from __future__ import annotations

import torch
from torch import nn

from wganlab.tricks.averaging import HistoricalAverage


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
