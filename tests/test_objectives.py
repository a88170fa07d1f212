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
    relativistic = OBJECTIVES.can(name, "relativistic")

    def gradients(real, fake):
        real, fake = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
        loss = objective.critic_loss(real, fake)
        real_grad, fake_grad = torch.autograd.grad(loss, (real, fake))
        generator = objective.generator_loss(fake, real.detach() if relativistic else None)
        (g_grad,) = torch.autograd.grad(generator, fake)
        for value in (loss, real_grad, fake_grad, generator, g_grad):
            assert torch.isfinite(value).all()
        return real_grad, fake_grad, g_grad

    gradients(torch.tensor([1e4, -1e4, 0.3]), torch.tensor([-1e4, 1e4, -0.2]))  # finite at huge logits
    # Between the targets (least squares pulls scores to 1 and 0, not beyond) every loss pushes the same way.
    real_grad, fake_grad, g_grad = gradients(torch.tensor([0.3, 0.5, 0.1]), torch.tensor([0.2, 0.6, 0.4]))
    assert (real_grad < 0).all() and (fake_grad > 0).all() and (g_grad < 0).all()


def test_hinge_losses_by_hand():
    from wganlab.objectives import Hinge

    # D: mean(relu(1 − [2, −1])) + mean(relu(1 + [0.5, −3])) = (0 + 2)/2 + (1.5 + 0)/2
    assert Hinge().critic_loss(REAL, FAKE).item() == pytest.approx(1.0 + 0.75)
    assert Hinge().fake_loss(FAKE).item() == pytest.approx(0.75)
    assert Hinge().generator_loss(FAKE).item() == pytest.approx(-(0.5 - 3.0) / 2)


def test_least_squares_losses_by_hand_and_with_targets():
    from wganlab.objectives import LeastSquares

    # D: ½ mean((2 − 1)², (−1 − 1)²) + ½ mean(0.5², 3²) = ½·2.5 + ½·4.625
    assert LeastSquares().critic_loss(REAL, FAKE).item() == pytest.approx(0.5 * 2.5 + 0.5 * 4.625)
    assert LeastSquares().generator_loss(FAKE).item() == pytest.approx(0.5 * ((0.5 - 1) ** 2 + 16) / 2)
    smoothed = LeastSquares().critic_loss(REAL, FAKE, torch.full((2,), 0.9), torch.full((2,), 0.1))
    assert smoothed.item() == pytest.approx(0.5 * ((2 - 0.9) ** 2 + 1.9**2) / 2 + 0.5 * (0.4**2 + 3.1**2) / 2)


def test_relativistic_pairing_compares_each_real_with_its_fake():
    from wganlab.objectives import RelativisticPairing

    objective = RelativisticPairing()
    # D: mean softplus(f − r) over the pairs (2, 0.5) and (−1, −3); G: mean softplus(r − f)
    d = (math.log1p(math.exp(0.5 - 2)) + math.log1p(math.exp(-3 + 1))) / 2
    g = (math.log1p(math.exp(2 - 0.5)) + math.log1p(math.exp(-1 + 3))) / 2
    assert objective.critic_loss(REAL, FAKE).item() == pytest.approx(d)
    assert objective.generator_loss(FAKE, REAL).item() == pytest.approx(g)
    swapped = torch.tensor([-1.0, 2.0])  # the pairing matters: the same scores paired otherwise differ
    assert objective.critic_loss(swapped, FAKE).item() != pytest.approx(d)
    with pytest.raises(ValueError, match="needs the critic's scores of a real batch"):
        objective.generator_loss(FAKE)
    with pytest.raises(ValueError, match="no loss on fakes alone"):
        objective.fake_loss(FAKE)
