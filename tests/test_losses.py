import math

import pytest
import torch

from gankit import losses


def test_gan_d_loss_at_half_is_2log2():
    zeros = torch.zeros(8, 1)
    assert losses.gan_d_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2), abs=1e-6)


@pytest.mark.parametrize("a,b", [(2.0, -1.0), (-3.0, 4.0), (0.5, 0.5)])
def test_gan_d_loss_closed_form(a, b):
    d_real, d_fake = 1 / (1 + math.exp(-a)), 1 / (1 + math.exp(-b))
    expected = -math.log(d_real) - math.log(1 - d_fake)
    got = losses.gan_d_loss(torch.full((4,), a), torch.full((4,), b)).item()
    assert got == pytest.approx(expected, rel=1e-5)


def test_label_smoothing_real_term():
    a, s = 1.5, 0.9
    d = 1 / (1 + math.exp(-a))
    expected = -(s * math.log(d) + (1 - s) * math.log(1 - d)) + math.log(2)   # fake logit 0 -> log 2
    got = losses.gan_d_loss(torch.full((3,), a), torch.zeros(3), real_target=s).item()
    assert got == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("l", [-4.0, 0.0, 2.5])
def test_generator_losses_closed_form(l):
    d = 1 / (1 + math.exp(-l))
    x = torch.full((5,), l)
    assert losses.gan_g_loss_minimax(x).item() == pytest.approx(math.log(1 - d), rel=1e-5)
    assert losses.gan_g_loss_nonsaturating(x).item() == pytest.approx(-math.log(d), rel=1e-5)


def test_losses_stay_finite_for_extreme_logits():
    big = torch.tensor([1e4, -1e4])
    for v in (losses.gan_d_loss(big, big), losses.gan_g_loss_minimax(big), losses.gan_g_loss_nonsaturating(big)):
        assert torch.isfinite(v)


def test_wasserstein_losses():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.0])
    assert losses.wasserstein_d_loss(real, fake).item() == pytest.approx(-0.5 - 2.0)
    assert losses.wasserstein_g_loss(fake).item() == pytest.approx(0.5)


def test_gradient_penalty_of_linear_critic():
    # D(x) = w.x has gradient w everywhere, so the penalty is (||w|| - 1)^2 at any point.
    w = torch.tensor([2.0, -1.0, 2.0])   # ||w|| = 3
    pts = torch.randn(16, 3)
    gp = losses.gradient_penalty(lambda x: x @ w, pts)
    assert gp.item() == pytest.approx(4.0, rel=1e-6)
    w1 = w / 3
    assert losses.gradient_penalty(lambda x: x @ w1, pts).item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_trains_the_critic():
    lin = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[2.0, -1.0, 2.0]]))
    gp = losses.gradient_penalty(lin, torch.randn(8, 3))
    gp.backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    expected = 2 * (3 - 1) * torch.tensor([[2.0, -1.0, 2.0]]) / 3
    assert torch.allclose(lin.weight.grad, expected, atol=1e-5)


def test_gradient_penalty_on_images_uses_per_sample_norm():
    w = torch.randn(1, 2, 3, 3)
    pts = torch.randn(4, 1, 2, 3, 3).squeeze(1)
    gp = losses.gradient_penalty(lambda x: (x * w).flatten(1).sum(1), pts)
    assert gp.item() == pytest.approx((w.norm().item() - 1) ** 2, rel=1e-5)


def test_interpolate_lies_on_segments():
    real, fake = torch.zeros(100, 2), torch.ones(100, 2)
    x = losses.interpolate(real, fake)
    assert torch.all((x >= 0) & (x <= 1))
    assert torch.allclose(x[:, 0], x[:, 1])          # one eps per sample, shared by its coordinates
    assert x[:, 0].std() > 0.1                         # and different across samples
