"""Every objective against values computed by hand on fixed logits."""

import math

import pytest
import torch

from wganlab.objectives import Minimax, NonSaturating, Wasserstein, make_objective
from wganlab.registry import OBJECTIVES

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_minimax_discriminator_is_binary_cross_entropy():
    expected = -(math.log(sigmoid(2.0)) + math.log(sigmoid(-1.0))) / 2 - (
        math.log(1 - sigmoid(0.5)) + math.log(1 - sigmoid(-3.0))) / 2
    assert Minimax().critic_loss(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)
    assert NonSaturating().critic_loss(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_minimax_generator_minimises_log_one_minus_d():
    expected = (math.log(1 - sigmoid(0.5)) + math.log(1 - sigmoid(-3.0))) / 2
    assert Minimax().generator_loss(FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_non_saturating_generator_maximises_log_d():
    expected = -(math.log(sigmoid(0.5)) + math.log(sigmoid(-3.0))) / 2
    assert NonSaturating().generator_loss(FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_non_saturating_keeps_gradient_where_minimax_saturates():
    confident_fake = torch.tensor([-12.0], requires_grad=True)
    Minimax().generator_loss(confident_fake).backward()
    saturating = confident_fake.grad.abs().item()
    confident_fake.grad = None
    NonSaturating().generator_loss(confident_fake).backward()
    assert saturating < 1e-4 < confident_fake.grad.abs().item()


def test_wasserstein_losses():
    assert Wasserstein().critic_loss(REAL, FAKE).item() == pytest.approx((0.5 - 3.0) / 2 - (2.0 - 1.0) / 2)
    assert Wasserstein().generator_loss(FAKE).item() == pytest.approx(-(0.5 - 3.0) / 2)


def test_logit_losses_stay_finite_for_huge_logits():
    big = torch.tensor([1e4, -1e4])
    for name in ("minimax", "non-saturating"):
        objective = make_objective(name)
        assert torch.isfinite(objective.critic_loss(big, -big))
        assert torch.isfinite(objective.generator_loss(big))


@pytest.mark.parametrize("name", OBJECTIVES.names())
def test_every_registered_objective_is_finite_on_huge_logits_and_pushes_the_right_way(name):
    """A contract every objective meets: finite losses and gradients at ±1e4, and descent on the critic loss
    raises real scores and lowers fake ones, descent on the generator loss raises fake scores."""
    objective = make_objective(name)
    for scale in (1.0, 1e4):
        real = torch.tensor([scale, -scale, 0.3], requires_grad=True)
        fake = torch.tensor([-scale, scale, -0.2], requires_grad=True)
        loss = objective.critic_loss(real, fake)
        real_grad, fake_grad = torch.autograd.grad(loss, (real, fake))
        assert torch.isfinite(loss) and torch.isfinite(real_grad).all() and torch.isfinite(fake_grad).all()
        assert (real_grad <= 0).all() and (fake_grad >= 0).all() and real_grad.sum() < 0 < fake_grad.sum()
        generator = objective.generator_loss(fake)
        (g_grad,) = torch.autograd.grad(generator, fake)
        assert torch.isfinite(generator) and torch.isfinite(g_grad).all()
        assert (g_grad <= 0).all() and g_grad.sum() < 0
