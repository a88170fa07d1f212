import pytest
import torch
from torch import nn

from wganlab.lipschitz.clipping.hook import clip_weights_
from wganlab.lipschitz.penalty.hook import (
    gradient_penalty,
    gradient_penalty_from_outputs,
    has_batch_coupling,
    interpolate,
)
from wganlab.lipschitz.spectral.norm import apply_spectral_norm


class Linear(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return (x.flatten(1) * self.w).sum(1)


def test_penalty_of_linear_critic_is_analytic():
    # f(x) = w·x has gradient w everywhere: penalty = (‖w‖ − 1)²
    w = torch.tensor([3.0, 4.0, 0.0, 12.0])  # ‖w‖ = 13
    critic = Linear(w)
    real, fake = torch.randn(16, 4), torch.randn(16, 4)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(144.0, rel=1e-6)
    small = Linear(w / 26)  # ‖w‖ = 0.5
    assert gradient_penalty(small, real, fake).item() == pytest.approx(0.25, rel=1e-6)
    assert gradient_penalty(small, real, fake, one_sided=True).item() == pytest.approx(0.0, abs=1e-12)
    assert gradient_penalty(critic, real, fake, one_sided=True).item() == pytest.approx(144.0, rel=1e-6)


def test_penalty_norm_runs_over_all_image_dimensions():
    w = torch.full((1, 2, 2), 0.5)  # a 1x2x2 "image" critic, ‖w‖ = 1 over all four pixels
    critic = Linear(w.flatten())
    real, fake = torch.randn(8, 1, 2, 2), torch.randn(8, 1, 2, 2)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_penalty_gradient_flows_to_critic_parameters():
    critic = Linear(torch.tensor([3.0, 4.0]))
    gradient_penalty(critic, torch.randn(4, 2), torch.randn(4, 2)).backward()
    # d/dw (‖w‖ − 1)² = 2(‖w‖ − 1) w / ‖w‖ = 2·4·(0.6, 0.8)
    assert torch.allclose(critic.w.grad, torch.tensor([4.8, 6.4]))


def test_interpolation_draws_one_alpha_per_sample():
    real = torch.zeros(1000, 3, 4, 4)
    fake = torch.ones(1000, 3, 4, 4)
    torch.manual_seed(0)
    points = interpolate(real, fake)
    per_sample = points.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample))  # constant within a sample
    alphas = 1 - per_sample[:, 0]
    assert alphas.min() >= 0 and alphas.max() <= 1
    assert alphas.std() > 0.25  # U[0,1] has std 0.289: alphas differ between samples


def test_clip_bounds_every_parameter():
    net = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Linear(5, 1))
    clip_weights_(net, 0.01)
    for p in net.parameters():
        assert p.abs().max() <= 0.01


def test_spectral_norm_wraps_every_layer():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4, 1))
    apply_spectral_norm(net)
    assert hasattr(net[0], "parametrizations") and hasattr(net[3], "parametrizations")


def test_batch_coupling_detection():
    assert has_batch_coupling(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)))
    assert not has_batch_coupling(nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2)))


def test_the_clipping_hook_clamps_the_fresh_critic_and_after_every_critic_step():
    from tests.conftest import FakeStep
    from wganlab.lipschitz.clipping.hook import WeightClipping
    from wganlab.training.hooks import CriticBatch

    context = FakeStep()
    with torch.no_grad():
        context.discriminator.weight.fill_(0.5)
    hook = WeightClipping(context.discriminator, 0.1)
    assert float(context.discriminator.weight.detach().max()) == pytest.approx(0.1)  # before the first step too
    with torch.no_grad():
        context.discriminator.weight.fill_(-3.0)
    hook.after_critic_step(CriticBatch(context.real, None, context.real, None), context)
    assert float(context.discriminator.weight.detach().min()) == pytest.approx(-0.1)


def test_the_penalty_hook_gives_its_weighted_term_and_nothing_for_fakes_alone():
    from tests.conftest import FakeStep
    from wganlab.lipschitz.penalty.hook import GradientPenalty
    from wganlab.training.hooks import CriticBatch

    context = FakeStep(dim=2)
    with torch.no_grad():  # D(x) = 3 x1 + 4 x2: ‖∇D‖ = 5 everywhere, so the penalty is (5 − 1)² = 16
        context.discriminator.weight.copy_(torch.tensor([[3.0, 4.0]]))
    batch = CriticBatch(torch.randn(4, 2), None, torch.randn(4, 2), None)
    (term,) = GradientPenalty(10.0).critic_terms(batch, context)
    assert (term.name, term.weight) == ("gradient_penalty", 10.0)
    assert float(term.value.detach()) == pytest.approx(16.0)
    assert float(GradientPenalty(10.0, one_sided=True).critic_terms(batch, context)[0].value.detach()) == \
        pytest.approx(16.0)
    with torch.no_grad():
        context.discriminator.weight.copy_(torch.tensor([[0.3, 0.4]]))  # ‖∇D‖ = 0.5: one-sided is zero
    assert float(GradientPenalty(1.0, one_sided=True).critic_terms(batch, context)[0].value.detach()) == 0.0
    assert float(GradientPenalty(1.0).critic_terms(batch, context)[0].value.detach()) == pytest.approx(0.25)
    assert GradientPenalty(10.0).critic_terms(CriticBatch(None, None, batch.fake, None), context) == []


def test_r1_and_r2_equal_their_analytic_values_for_a_linear_critic():
    from tests.conftest import FakeStep
    from wganlab.lipschitz.zero_centred.hook import R1Penalty, R2Penalty
    from wganlab.training.hooks import CriticBatch

    context = FakeStep(dim=2)
    with torch.no_grad():  # D(x) = 3 x1 + 4 x2 + b: ∇D = (3, 4) everywhere, ‖∇D‖² = 25
        context.discriminator.weight.copy_(torch.tensor([[3.0, 4.0]]))
    batch = CriticBatch(torch.randn(4, 2), None, torch.randn(4, 2), None)
    (r1,) = R1Penalty(gamma=0.2).critic_terms(batch, context)
    (r2,) = R2Penalty(gamma=0.2).critic_terms(batch, context)
    assert (r1.name, r2.name) == ("r1", "r2") and r1.weight == r2.weight == pytest.approx(0.1)  # γ/2
    assert float(r1.value.detach()) == pytest.approx(25.0) and float(r2.value.detach()) == pytest.approx(25.0)
    assert R1Penalty(0.2).critic_terms(CriticBatch(None, None, batch.fake, None), context) == []


def test_a_zero_centred_gradient_penalty_has_a_gradient_where_the_critic_is_flat():
    points = torch.zeros(3, 2, requires_grad=True)
    outputs = (points * torch.zeros(2, requires_grad=True)).sum(1)  # ∇ = 0: the norm's gradient would be NaN
    penalty = gradient_penalty_from_outputs(outputs, points, target=0.0)
    assert float(penalty.detach()) == 0.0
    assert all(torch.isfinite(g).all() for g in torch.autograd.grad(penalty, [points], allow_unused=True)
               if g is not None)


def test_dragan_perturbs_by_up_to_c_standard_deviations_and_penalises_there():
    from tests.conftest import FakeStep
    from wganlab.lipschitz.dragan.hook import DraganPenalty, perturbed
    from wganlab.training.hooks import CriticBatch

    real = torch.randn(4000, 2) * 3.0
    torch.manual_seed(1)
    delta = perturbed(real, 0.5, torch.rand_like(real)) - real
    std = float(real.std())
    assert float(delta.min()) >= 0.0 and float(delta.max()) <= 0.5 * std + 1e-5
    assert float(delta.mean()) == pytest.approx(0.25 * std, rel=0.05)  # c · std · E[U] = c · std / 2
    context = FakeStep(dim=2)
    with torch.no_grad():
        context.discriminator.weight.copy_(torch.tensor([[3.0, 4.0]]))  # ‖∇D‖ = 5: penalty (5 − 1)² = 16
    (term,) = DraganPenalty(10.0).critic_terms(CriticBatch(real[:8], None, real[:8], None), context)
    assert (term.name, term.weight) == ("dragan", 10.0) and float(term.value.detach()) == pytest.approx(16.0)


def test_lazy_regularization_penalises_exactly_every_kth_critic_step_with_k_times_the_weight():
    from tests.conftest import FakeStep
    from wganlab.lipschitz.penalty.hook import GradientPenalty
    from wganlab.training.hooks import CriticBatch

    context = FakeStep(dim=2)
    hook = GradientPenalty(10.0, every=3)
    batch = CriticBatch(torch.randn(4, 2), None, torch.randn(4, 2), None)
    weights = [[t.weight for t in hook.critic_terms(batch, context)] for _ in range(7)]
    assert weights == [[30.0], [], [], [30.0], [], [], [30.0]]
    fresh = GradientPenalty(10.0, every=3)
    fresh.load_state_dict(hook.state_dict())  # resumes mid-period: the next due step is 9
    assert [len(fresh.critic_terms(batch, context)) for _ in range(3)] == [0, 0, 1]
