"""Optimizers: multi-tensor kernels, with the same update as torch's per-parameter loop."""

import pytest
import torch

from wganlab.config import OptimizerConfig
from wganlab.training.optim import implementation, make_optimizer


@pytest.mark.parametrize("name", ["adam", "rmsprop", "sgd"])
def test_multi_tensor_update_matches_the_per_parameter_loop(name: str) -> None:
    config = OptimizerConfig(name=name, lr=1e-2, momentum=0.5 if name != "adam" else 0.0)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1))
    twin = [p.detach().clone().requires_grad_(True) for p in net.parameters()]
    ours = make_optimizer(net.parameters(), config)
    assert ours.defaults["foreach"] is True  # on the CPU; fused on CUDA
    loop = {"adam": torch.optim.Adam(twin, lr=1e-2, betas=config.betas, eps=config.eps, foreach=False),
            "rmsprop": torch.optim.RMSprop(twin, lr=1e-2, alpha=config.alpha, eps=config.eps, momentum=0.5,
                                           foreach=False),
            "sgd": torch.optim.SGD(twin, lr=1e-2, momentum=0.5, foreach=False)}[name]
    names = [name for name, _ in net.named_parameters()]
    for _ in range(3):
        x = torch.randn(8, 3)
        for params, optimizer in ((list(net.parameters()), ours), (twin, loop)):
            optimizer.zero_grad()
            out = torch.func.functional_call(net, dict(zip(names, params, strict=True)), (x,))
            out.square().mean().backward()
            optimizer.step()
    for a, b in zip(net.parameters(), twin, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_cuda_parameters_get_the_fused_kernels() -> None:
    meta = torch.nn.Parameter(torch.empty(2, device="meta"))
    assert implementation([meta]) == {"foreach": True}
    assert implementation([]) == {"foreach": True}
