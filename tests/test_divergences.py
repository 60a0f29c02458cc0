"""f-GAN divergence table (Nowozin et al. 2016, Tables 1-2) checked against first principles."""
import math

import pytest
import torch

from gankit.errors import ConfigError
from gankit.losses.divergences import (DIVERGENCES, fgan_d_loss, fgan_g_loss, get_divergence,
                                       variational_bound)

NAMES = ["kl", "reverse-kl", "pearson", "neyman", "squared-hellinger", "jensen-shannon", "gan"]
D64 = torch.float64
P = torch.tensor([0.1, 0.4, 0.5], dtype=D64)
Q = torch.tensor([0.3, 0.3, 0.4], dtype=D64)


def t64(*xs):
    return torch.tensor(xs, dtype=D64)


def test_table_has_exactly_the_seven_divergences():
    assert sorted(DIVERGENCES) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_conjugate_is_the_numerical_supremum(name):
    # f*(t) = sup_u (t u - f(u)); pick t = f'(u0) so the maximiser u0 lies well inside the grid.
    div = get_divergence(name)
    u = torch.logspace(-6, 3, 100_001, dtype=D64)
    u0 = t64(0.05, 0.3, 1.0, 2.5, 20.0)
    t = div.f_prime(u0)
    objective = t[:, None] * u[None, :] - div.f(u)[None, :]
    sup, arg = objective.max(dim=1)
    torch.testing.assert_close(div.conjugate(t), sup, rtol=1e-7, atol=1e-7)
    torch.testing.assert_close(u[arg], u0, rtol=1e-3, atol=0)     # f' really is the argmax map
    f1 = -math.log(4) if name == "gan" else 0.0                   # gan's f is not normalised (Table 1)
    assert div.f(t64(1.0)).item() == pytest.approx(f1, abs=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_conjugate_of_activation_matches_composition(name):
    div = get_divergence(name)
    v = torch.linspace(-15, 15, 61, dtype=D64)
    torch.testing.assert_close(div.conjugate_of_activation(v), div.conjugate(div.activation(v)),
                               rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_conjugate_of_activation_finite_for_extreme_v(name, dtype):
    div = get_divergence(name)
    v = torch.tensor([-30.0, 30.0], dtype=dtype, requires_grad=True)
    out = div.conjugate_of_activation(v)
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert torch.isfinite(v.grad).all()


def test_naive_composition_overflows_where_closed_form_does_not():
    div = get_divergence("squared-hellinger")
    v = torch.tensor([30.0])                                      # 1 - exp(-30) rounds to 1 in float32
    assert torch.isinf(div.conjugate(div.activation(v))).all()
    assert torch.isfinite(div.conjugate_of_activation(v)).all()


@pytest.mark.parametrize("name", NAMES)
def test_activation_lands_in_conjugate_domain(name):
    div = get_divergence(name)
    v = torch.linspace(-20, 20, 81, dtype=D64)
    assert torch.all(div.activation(v) < div.domain_sup)
    assert torch.isfinite(div.conjugate(div.activation(v))).all()


@pytest.mark.parametrize("name,sup", [("kl", math.inf), ("pearson", math.inf), ("reverse-kl", 0.0),
                                      ("neyman", 1.0), ("squared-hellinger", 1.0),
                                      ("jensen-shannon", math.log(2)), ("gan", 0.0)])
def test_domains(name, sup):
    div = get_divergence(name)
    assert div.domain_sup == sup
    if sup < math.inf:
        assert torch.isinf(div.conjugate(t64(sup, sup + 1.0))).all()


def true_divergence(div):
    return (Q * div.f(P / Q)).sum()


def bound(div, t):
    return variational_bound(div, t, t, real_weights=P, fake_weights=Q)


@pytest.mark.parametrize("name", NAMES)
def test_bound_is_tight_at_optimal_critic_and_a_lower_bound(name):
    div = get_divergence(name)
    t_star = div.f_prime(P / Q)
    best = bound(div, t_star)
    assert best.item() == pytest.approx(true_divergence(div).item(), abs=1e-9)
    for delta in (t64(0.05, -0.05, 0.02), t64(-0.1, 0.0, 0.0), t64(0.0, 0.03, 0.03)):
        t = t_star + delta
        assert torch.all(t < div.domain_sup)
        assert bound(div, t) < best


def test_closed_forms_at_optimal_critic():
    m = (P + Q) / 2
    kl_pq = (P * torch.log(P / Q)).sum()
    js = 0.5 * (P * torch.log(P / m)).sum() + 0.5 * (Q * torch.log(Q / m)).sum()
    at_opt = {n: bound(DIVERGENCES[n], DIVERGENCES[n].f_prime(P / Q)).item() for n in NAMES}
    assert at_opt["kl"] == pytest.approx(kl_pq.item(), abs=1e-12)
    assert at_opt["reverse-kl"] == pytest.approx((Q * torch.log(Q / P)).sum().item(), abs=1e-12)
    assert at_opt["gan"] == pytest.approx(2 * js.item() - math.log(4), abs=1e-12)
    assert at_opt["jensen-shannon"] == pytest.approx(2 * js.item(), abs=1e-12)   # Table 1's f is 2 x JS
    assert at_opt["pearson"] == pytest.approx(((P - Q) ** 2 / Q).sum().item(), abs=1e-12)
    assert at_opt["neyman"] == pytest.approx(((P - Q) ** 2 / P).sum().item(), abs=1e-12)
    hellinger = ((P.sqrt() - Q.sqrt()) ** 2).sum().item()
    assert at_opt["squared-hellinger"] == pytest.approx(hellinger, abs=1e-12)


def test_unweighted_bound_is_a_plain_mean():
    div = get_divergence("kl")
    t_real, t_fake = t64(0.0, 1.0), t64(1.0, 3.0)
    expected = 0.5 - (1.0 + math.exp(2.0)) / 2
    assert variational_bound(div, t_real, t_fake).item() == pytest.approx(expected, abs=1e-12)


def test_gan_losses_at_zero_match_standard_gan():
    div, zeros = get_divergence("gan"), torch.zeros(4, 1)
    assert fgan_d_loss(div, zeros, zeros).item() == pytest.approx(2 * math.log(2), abs=1e-6)
    assert fgan_g_loss(div, zeros, "saturating").item() == pytest.approx(-math.log(2), abs=1e-6)
    assert fgan_g_loss(div, zeros).item() == pytest.approx(math.log(2), abs=1e-6)


@pytest.mark.parametrize("a,b", [(2.0, -1.0), (-3.0, 4.0)])
def test_gan_losses_match_goodfellow(a, b):
    div = get_divergence("gan")
    sig = lambda x: 1 / (1 + math.exp(-x))
    d_loss = fgan_d_loss(div, torch.full((3,), a), torch.full((3,), b)).item()
    assert d_loss == pytest.approx(-math.log(sig(a)) - math.log(1 - sig(b)), rel=1e-5)
    assert fgan_g_loss(div, torch.full((3,), b)).item() == pytest.approx(-math.log(sig(b)), rel=1e-5)
    assert fgan_g_loss(div, torch.full((3,), b), "saturating").item() == pytest.approx(
        math.log(1 - sig(b)), rel=1e-5)


def test_hand_computed_losses_other_divergences():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0])
    # kl: g = v, f*(g) = exp(v - 1). -F = mean(exp(fake - 1)) - mean(real).
    kl = get_divergence("kl")
    assert fgan_d_loss(kl, real, fake).item() == pytest.approx((math.exp(-1) + math.exp(1)) / 2 - 2, rel=1e-6)
    # reverse-kl: g = -exp(-v), f*(g) = v - 1.
    rkl = get_divergence("reverse-kl")
    expected = (-1 + 1) / 2 + (math.exp(-1) + math.exp(-3)) / 2
    assert fgan_d_loss(rkl, real, fake).item() == pytest.approx(expected, rel=1e-6)
    assert fgan_g_loss(rkl, fake, "saturating").item() == pytest.approx(0.0, abs=1e-6)
    assert fgan_g_loss(rkl, fake).item() == pytest.approx((1 + math.exp(-2)) / 2, rel=1e-6)
    # pearson at v = 2: f*(2) = 1 + 2 = 3. neyman at v = 2: 2 - 2 e^-1. hellinger at v = 2: e^2 - 1.
    v = torch.full((5,), 2.0)
    assert fgan_g_loss(get_divergence("pearson"), v, "saturating").item() == pytest.approx(-3.0)
    assert fgan_g_loss(get_divergence("neyman"), v, "saturating").item() == pytest.approx(
        -(2 - 2 * math.exp(-1)), rel=1e-6)
    assert fgan_g_loss(get_divergence("squared-hellinger"), v, "saturating").item() == pytest.approx(
        -(math.exp(2) - 1), rel=1e-6)
    # jensen-shannon at V = 0: g = 0, f*(0) = -log(1) = 0, so both losses vanish.
    js, zeros = get_divergence("jensen-shannon"), torch.zeros(3)
    assert fgan_d_loss(js, zeros, zeros).item() == pytest.approx(0.0, abs=1e-6)


def test_losses_reduce_over_any_shape():
    div = get_divergence("pearson")
    v = torch.arange(24.0).reshape(2, 3, 4) / 10
    assert fgan_g_loss(div, v).shape == ()
    assert fgan_d_loss(div, v, v).item() == pytest.approx((v * v / 4).mean().item(), rel=1e-6)


def test_unknown_name_lists_valid_names_and_suggests():
    with pytest.raises(ConfigError) as err:
        get_divergence("jensen-shanon")
    msg = str(err.value)
    assert all(n in msg for n in NAMES)
    assert "Did you mean 'jensen-shannon'" in msg


def test_bad_generator_mode():
    with pytest.raises(ValueError, match="saturating"):
        fgan_g_loss(get_divergence("gan"), torch.zeros(2), mode="minimax")
