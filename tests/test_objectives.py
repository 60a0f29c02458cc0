"""The objective family: loss values against hand-computed numbers, and the techniques' pieces."""
import math

import pytest
import torch

from gankit import losses
from gankit.config import load_config
from gankit.data.base import Dataset
from gankit.errors import ConfigError
from gankit.models import Batch, build_model
from gankit.nets.layers import MinibatchDiscrimination


def model(name, **opts):
    data = Dataset("tiny", "points", torch.randn(64, 2))
    cfg = load_config({"model": {"name": name, "z_dim": 4, "generator": {"name": "mlp", "hidden": [16]},
                                 "discriminator": {"name": "mlp", "hidden": [16]}, **opts},
                       "train": {"steps": 1}})
    torch.manual_seed(0)
    return build_model(cfg.model, data), data


# ----------------------------------------------------------------------------------------------- LSGAN
def test_lsgan_losses_by_hand():
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([0.5, -1.0])
    # 1/2 mean((real - b)^2) + 1/2 mean((fake - a)^2) with a = -1, b = 1
    assert losses.lsgan_d_loss(real, fake, a=-1.0, b=1.0).item() == pytest.approx(0.5 * 0.5 + 0.5 * 1.125)
    assert losses.lsgan_g_loss(fake, c=0.0).item() == pytest.approx(0.5 * (0.25 + 1.0) / 2)


@pytest.mark.parametrize("a,b", [(0.0, 1.0), (-1.0, 1.0)])
def test_lsgan_optimal_discriminator_on_a_discrete_toy(a, b):
    # Mao et al. 2016, eq. 4: D*(x) = (b p_data(x) + a p_g(x)) / (p_data(x) + p_g(x)).
    p_data, p_g = torch.tensor([0.2, 0.5, 0.3]), torch.tensor([0.6, 0.1, 0.3])
    real_idx = torch.repeat_interleave(torch.arange(3), (p_data * 100).long())
    fake_idx = torch.repeat_interleave(torch.arange(3), (p_g * 100).long())
    d_star = (b * p_data + a * p_g) / (p_data + p_g)
    d = d_star.clone().requires_grad_(True)
    loss = losses.lsgan_d_loss(d[real_idx], d[fake_idx], a=a, b=b)
    (grad,) = torch.autograd.grad(loss, d)
    assert grad.abs().max() < 1e-6                      # stationary at D* ...
    worse = losses.lsgan_d_loss((d_star + 0.05)[real_idx], (d_star + 0.05)[fake_idx], a=a, b=b)
    assert worse > loss                                  # ... and a minimum (the loss is convex in D)


def test_lsgan_presets_and_custom_targets():
    assert model("lsgan")[0].opts.targets == (0.0, 1.0, 1.0)
    assert model("lsgan", preset="pearson")[0].opts.targets == (-1.0, 1.0, 0.0)
    assert model("lsgan", preset="custom", a=-2.0, b=2.0, c=1.0)[0].opts.targets == (-2.0, 2.0, 1.0)
    with pytest.raises(ConfigError, match="needs all three"):
        model("lsgan", preset="custom", a=0.0)
    with pytest.raises(ConfigError, match="fixed by preset"):
        model("lsgan", a=0.5)


# ----------------------------------------------------------------------------------------------- EBGAN
def test_ebgan_losses_by_hand():
    real, fake = torch.tensor([0.2, 0.4]), torch.tensor([0.5, 1.5])
    # mean(real) + mean(max(0, m - fake)) with m = 1: 0.3 + (0.5 + 0) / 2
    assert losses.ebgan_d_loss(real, fake, margin=1.0).item() == pytest.approx(0.55)
    assert losses.ebgan_g_loss(fake).item() == pytest.approx(1.0)


def test_pullaway_term_by_hand():
    assert losses.pullaway_term(torch.eye(3)).item() == pytest.approx(0.0, abs=1e-7)          # orthogonal
    assert losses.pullaway_term(torch.ones(4, 3) * 2).item() == pytest.approx(1.0, rel=1e-6)  # identical
    s = torch.tensor([[1.0, 0.0], [1.0, 1.0]])                                                  # 45 degrees
    assert losses.pullaway_term(s).item() == pytest.approx(0.5, rel=1e-6)


def test_ebgan_energy_is_the_reconstruction_error():
    m, data = model("ebgan", code_dim=3)
    D = m.nets["D"]
    x = data.train[:5]
    energy, code = D.energy_and_code(x)
    assert code.shape == (5, 3)
    assert torch.allclose(energy, ((D.decoder(D.encoder(x)) - x) ** 2).mean(1))
    out = m.train_step(Batch(x), 0)
    assert {"energy_real", "energy_fake", "loss_g"} <= set(out)


# ------------------------------------------------------------------------------------ WGAN, DRAGAN, GP
def test_wgan_clips_the_critic_after_each_update():
    m, data = model("wgan", clip=0.01)
    with torch.no_grad():
        for p in m.nets["D"].parameters():
            p.mul_(100)
    m.d_step(Batch(data.train[:8]))
    assert max(p.abs().max().item() for p in m.nets["D"].parameters()) <= 0.01 + 1e-9
    assert m.optimizers["D"].__class__.__name__ == "RMSprop" and m.opts.n_critic == 5


@pytest.mark.parametrize("n_critic", [5, 3])
def test_wgan_critic_boost_schedule_matches_the_authors_loop(n_critic):
    from gankit.models.wgan import boosted_g_step_due

    # martinarjovsky/WassersteinGAN main.py: Diters = 100 if gen_iterations < 25 or gen_iterations % 500 == 0
    due, g, step = set(), 0, 0
    while step < 12_000:
        step += 100 if g < 25 or g % 500 == 0 else n_critic
        due.add(step - 1)
        g += 1
    assert {s for s in range(12_000) if boosted_g_step_due(s, n_critic)} == {s for s in due if s < 12_000}
    assert boosted_g_step_due(99, n_critic) and not boosted_g_step_due(4, n_critic)


def test_wgan_critic_boost_holds_the_generator_back():
    m, data = model("wgan", critic_boost=True)
    before = [p.clone() for p in m.nets["G"].parameters()]
    for step in range(99):
        assert "loss_g" not in m.train_step(Batch(data.train[:8]), step)
    assert all(torch.equal(a, b) for a, b in zip(before, m.nets["G"].parameters()))
    assert "loss_g" in m.train_step(Batch(data.train[:8]), 99)
    plain, _ = model("wgan")
    assert "loss_g" in plain.train_step(Batch(data.train[:8]), 4)


def test_dragan_perturbation():
    torch.manual_seed(0)
    x = torch.randn(4000, 3)
    xh = losses.perturb(x, c=0.5)
    delta = xh - x
    assert delta.min() >= 0 and delta.max() <= 0.5 * x.std() + 1e-6
    assert delta.mean().item() == pytest.approx(0.25 * x.std().item(), rel=0.05)


def test_dragan_normal_perturbation_is_symmetric_with_std_c_std_x():
    torch.manual_seed(0)
    x = torch.randn(4000, 3) * 2
    delta = losses.perturb(x, c=0.5, noise="normal") - x
    assert abs(delta.mean().item()) < 0.02
    assert delta.std().item() == pytest.approx(0.5 * x.std().item(), rel=0.03)
    assert (delta < 0).float().mean().item() == pytest.approx(0.5, abs=0.03)


def test_dragan_penalty_of_a_linear_critic():
    w = torch.tensor([0.6, 0.8, 0.0]) * 2.5          # ||w|| = 2.5
    x = torch.randn(32, 3)
    gp = losses.gradient_penalty(lambda p: p @ w, losses.perturb(x, 0.5))
    assert gp.item() == pytest.approx(1.5 ** 2, rel=1e-6)


def test_dragan_model_defaults_and_penalty_logged():
    m, data = model("dragan")
    assert (m.opts.penalty, m.opts.penalty_weight, m.opts.dragan_c) == ("dragan", 10.0, 0.5)
    assert "gp" in m.d_step(Batch(data.train[:8]))


# ------------------------------------------------------------------------------------------ Improved-GAN
def test_minibatch_discrimination_on_a_hand_made_batch():
    layer = MinibatchDiscrimination(2, kernels=1, kernel_dim=2)
    with torch.no_grad():
        layer.T.copy_(torch.eye(2))                    # M_i = f(x_i)
    f = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])   # L1 distances d01 = 1, d02 = 2, d12 = 3
    out = layer(f)
    e = math.exp
    expected = torch.tensor([e(-1) + e(-2), e(-1) + e(-3), e(-2) + e(-3)])
    assert out.shape == (3, 3)
    assert torch.equal(out[:, :2], f)
    assert torch.allclose(out[:, 2], expected, atol=1e-6)


def test_minibatch_discrimination_model():
    m, data = model("gan", minibatch_disc=True, mbd_kernels=7, mbd_kernel_dim=3)
    D = m.nets["D"]
    assert isinstance(D.head[0], MinibatchDiscrimination) and D.head[1].in_features == D.feature_dim + 7
    out = m.train_step(Batch(data.train[:8]), 0)
    assert torch.isfinite(out["loss_d"]) and D.head[0].T.grad is not None


def test_released_minibatch_layer_initialises_from_the_first_batch():
    layer = MinibatchDiscrimination(2, kernels=1, kernel_dim=2, released=True)
    with torch.no_grad():
        layer.T.copy_(torch.eye(2))                    # weight-normalised columns: W = I * exp(0)
    f = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])   # nearest neighbours at L1 1, 1, 2: mean 4/3
    out = layer(f)
    s = (4 / 3) / 2                                     # distances divided by half the mean nearest distance
    e = math.exp
    o = torch.tensor([e(-1 / s) + e(-2 / s), e(-1 / s) + e(-3 / s), e(-2 / s) + e(-3 / s)])
    assert bool(layer.initialised) and layer.log_scale.detach().tolist() == pytest.approx([-math.log(s)] * 2)
    assert layer.bias.item() == pytest.approx(-o.mean().item())
    assert torch.allclose(out[:, 2], o - o.mean(), atol=1e-6)   # centred on the first batch
    again = layer(f)                                    # initialised once: the same map from now on
    assert torch.allclose(again, out, atol=1e-6) and torch.equal(again[:, :2], f)
    fresh = MinibatchDiscrimination(2, kernels=1, kernel_dim=2, released=True).eval()
    fresh(f)
    assert not bool(fresh.initialised)                 # never from an evaluation pass


def test_released_minibatch_layer_in_a_model_and_its_checkpoint():
    m, data = model("gan", minibatch_disc=True, mbd_layer="released", mbd_kernels=7, mbd_kernel_dim=3)
    layer = m.nets["D"].head[0]
    assert layer.released and not bool(layer.initialised)
    out = m.train_step(Batch(data.train[:8]), 0)
    assert torch.isfinite(out["loss_d"]) and bool(layer.initialised) and layer.log_scale.grad is not None
    assert "head.0.initialised" in m.nets["D"].state_dict()      # a resumed run does not initialise again
    with pytest.raises(ConfigError, match="minibatch_disc: false"):
        model("gan", mbd_layer="released")


def test_feature_matching_loss_by_hand():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])       # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]])       # mean (1, 1)
    assert losses.feature_matching_loss(real, fake).item() == pytest.approx(1 + 4)


def test_feature_matching_trains_g_on_features():
    m, data = model("gan", feature_matching=True)
    out = m.g_step(Batch(data.train[:16]))
    with torch.no_grad():
        D = m.nets["D"]
        assert out["loss_g"] >= 0


def test_label_smoothing():
    m, data = model("gan", label_smoothing=0.1)
    zeros = torch.zeros(4, 1)
    loss, _ = m.d_loss(zeros, zeros)
    assert loss.item() == pytest.approx(2 * math.log(2), rel=1e-6)     # at logit 0 the target does not matter
    big = torch.full((4, 1), 20.0)
    loss, _ = m.d_loss(big, -big)
    assert loss.item() == pytest.approx(0.1 * 20, rel=1e-3)           # a confident D pays for the 0.1 of 0


def test_historical_averaging_penalty_and_running_mean():
    p = [torch.tensor([1.0, 2.0]), torch.tensor([[3.0]])]
    a = [torch.tensor([0.0, 0.0]), torch.tensor([[1.0]])]
    assert losses.historical_average_penalty(p, a).item() == pytest.approx(1 + 4 + 4)
    m, data = model("gan", historical_averaging=0.5)
    snaps = []
    for step in range(3):
        m.train_step(Batch(data.train[:8]), step)
        snaps.append([q.detach().clone() for q in m.nets["G"].parameters()])
    mean = [torch.stack(s).mean(0) for s in zip(*snaps)]
    assert all(torch.allclose(x, y, atol=1e-6) for x, y in zip(mean, m.averages["G"]))
    state = m.extra_state()
    m2, _ = model("gan", historical_averaging=0.5)
    m2.load_extra_state(state)
    assert m2.average_count == 3


# ------------------------------------------------------------------------------------------ bad combos
@pytest.mark.parametrize("name,opts,needle", [
    ("wgan", {"penalty": "wgan-gp"}, "weight clipping"),
    ("wgan-gp", {"clip": 0.01}, "weight clipping"),
    ("wgan", {"label_smoothing": 0.1}, "label_smoothing"),
    ("lsgan", {"label_smoothing": 0.1}, "label_smoothing"),
    ("ebgan", {"minibatch_disc": True}, "minibatch_disc"),
    ("ebgan", {"margin": 0}, "margin"),
    ("gan", {"label_smoothing": 1.0}, "label_smoothing"),
    ("gan", {"penalty": "dragan", "discriminator": {"name": "mlp", "norm": "batch"}}, "couples the samples"),
    ("gan", {"penalty": "wgan-gp", "minibatch_disc": True, "discriminator": {"name": "mlp"}},
     "minibatch layer couples the samples"),
])
def test_incompatible_options_are_rejected(name, opts, needle):
    with pytest.raises(ConfigError) as e:
        load_config({"model": {"name": name, **opts}, "train": {"steps": 1}})
    assert needle in str(e.value)


def test_minibatch_discrimination_with_a_penalty_when_asked_for_is_accepted():
    opts = {"name": "gan", "penalty": "wgan-gp", "minibatch_disc": True, "penalty_batch_norm": True,
            "discriminator": {"name": "mlp"}}
    cfg = load_config({"model": opts, "train": {"steps": 1}})
    assert cfg.model.minibatch_disc and cfg.model.penalty == "wgan-gp"


def test_dragan_rejects_batch_norm_and_says_why():
    with pytest.raises(ConfigError, match="couples the samples of a batch.*penalty_batch_norm: true"):
        load_config({"model": {"name": "dragan", "discriminator": {"name": "dcgan"}}, "train": {"steps": 1}})


@pytest.mark.parametrize("name", ["dragan", "wgan-gp"])
def test_batch_norm_with_a_penalty_when_asked_for_trains(name):
    # penalty_batch_norm: the collections' MNIST recipes; the penalty's double backward goes through BN
    m, data = model(name, penalty_batch_norm=True, discriminator={"name": "mlp", "hidden": [16], "norm": "batch"})
    assert any(isinstance(x, torch.nn.BatchNorm1d) for x in m.nets["D"].modules())
    before = [p.detach().clone() for p in m.nets["D"].parameters()]
    out = m.d_step(Batch(data.train[:16]))
    assert torch.isfinite(out["loss_d"]) and torch.isfinite(out["gp"]) and out["gp"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, m.nets["D"].parameters()))


# ----------------------------------------------------------------------------------------------- f-GAN
@pytest.mark.parametrize("div", ["kl", "reverse-kl", "pearson", "neyman", "squared-hellinger",
                                 "jensen-shannon", "gan"])
def test_fgan_every_divergence_trains_a_step(div):
    m, data = model("fgan", divergence=div, n_critic=1)
    out = m.train_step(Batch(data.train[:16]), 0)
    assert torch.isfinite(out["loss_d"]) and torch.isfinite(out["loss_g"]) and "bound" in out


def test_fgan_gan_divergence_matches_the_gan_losses():
    m, _ = model("fgan", divergence="gan", g_loss="alternative")
    real, fake = torch.tensor([0.3, -1.2]), torch.tensor([2.0, -0.5])
    assert torch.allclose(m.d_loss(real, fake)[0], losses.gan_d_loss(real, fake))
    assert torch.allclose(m.g_loss(fake), losses.gan_g_loss_nonsaturating(fake))


def test_fgan_unknown_divergence_lists_the_valid_ones():
    with pytest.raises(ConfigError) as e:
        load_config({"model": {"name": "fgan", "divergence": "kullback"}, "train": {"steps": 1}})
    for name in ("kl", "reverse-kl", "pearson", "neyman", "squared-hellinger", "jensen-shannon", "gan"):
        assert name in str(e.value)
