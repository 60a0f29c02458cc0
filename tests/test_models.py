"""A smoke test per model: one D and one G step on tiny networks, finite losses, parameters change."""
import pytest
import torch

from gankit.config import load_config
from gankit.data.base import Dataset
from gankit.models import Batch, build_model


def tiny_images(n=16, c=1, size=28):
    return Dataset("tiny", "image", torch.rand(n, c, size, size) * 2 - 1)


def tiny_points(n=64):
    return Dataset("tiny", "points", torch.randn(n, 2))


NETS = {
    "mlp": ({"name": "mlp", "hidden": [16]}, {"name": "mlp", "hidden": [16]}),
    "dcgan": ({"name": "dcgan", "width": 8}, {"name": "dcgan", "width": 8, "norm": "layer"}),
}
MODELS = ("gan", "wgan", "wgan-gp", "lsgan", "fgan", "dragan", "ebgan", "infogan")
CASES = [(m, n) for m in MODELS for n in ("mlp", "dcgan")]
WASSERSTEIN = ("wgan", "wgan-gp")


def make(model, nets, data, **extra):
    g, d = NETS[nets]
    cfg = load_config({"model": {"name": model, "z_dim": 8, "generator": g, "discriminator": d, **extra},
                       "train": {"steps": 2}})
    torch.manual_seed(0)
    return build_model(cfg.model, data)


def snapshot(net):
    return [p.detach().clone() for p in net.parameters()]


def changed(before, net, allowed=()):
    """True when every parameter moved, except those named in `allowed`."""
    still = [n for (n, p), b in zip(net.named_parameters(), before) if torch.equal(p, b)]
    return set(still) <= set(allowed)


@pytest.mark.parametrize("model,nets", CASES)
def test_one_d_and_one_g_step(model, nets):
    data = tiny_points() if nets == "mlp" else tiny_images()
    m = make(model, nets, data, n_critic=1)
    g0, d0 = snapshot(m.nets["G"]), snapshot(m.nets["D"])
    out = m.train_step(Batch(data.train[:8]), step=0)
    assert {"loss_d", "loss_g"} <= set(out)
    assert all(torch.isfinite(v).all() for v in out.values())
    # A Wasserstein critic's output bias cancels in E[D(fake)] - E[D(real)] and the penalty: it cannot move.
    allowed = ("head.bias",) if model in WASSERSTEIN else ()
    assert changed(d0, m.nets["D"], allowed) and changed(g0, m.nets["G"])


@pytest.mark.parametrize("model", MODELS)
def test_generator_waits_for_n_critic_steps(model):
    data = tiny_points()
    m = make(model, "mlp", data, n_critic=3)
    g0 = snapshot(m.nets["G"])
    for step in range(2):
        assert "loss_g" not in m.train_step(Batch(data.train[:8]), step)
    assert not changed(g0, m.nets["G"])
    assert "loss_g" in m.train_step(Batch(data.train[:8]), 2)
    assert changed(g0, m.nets["G"])


@pytest.mark.parametrize("objective", ["paper", "released", "cyclegan"])
def test_two_domain_model_steps_every_network(objective):
    """dualgan needs two image domains (a `pair` dataset): G_A, G_B, D_A and D_B all move in one step."""
    data = Dataset("tiny", "pair", torch.rand(16, 2, 1, 28, 28) * 2 - 1)
    cfg = load_config({"model": {"name": "dualgan", "objective": objective, "n_critic": 1,
                                 "generator": {"width": 4, "depth": 2}, "discriminator": {"width": 4, "layers": 1}},
                       "train": {"steps": 2}})
    torch.manual_seed(0)
    m = build_model(cfg.model, data)
    before = {k: snapshot(n) for k, n in m.nets.items()}
    out = m.train_step(Batch(data.train[:8]), step=0)
    assert {"loss_d", "loss_g"} <= set(out) and all(torch.isfinite(v).all() for v in out.values())
    last = f"net.{len(m.nets['D_A'].net) - 1}.bias"   # a Wasserstein critic's output bias cancels (paper)
    allowed = (last,) if objective == "paper" else ()
    assert changed(before["G_A"], m.nets["G_A"]) and changed(before["G_B"], m.nets["G_B"])
    assert changed(before["D_A"], m.nets["D_A"], allowed) and changed(before["D_B"], m.nets["D_B"], allowed)


def test_g_step_leaves_discriminator_untouched():
    data = tiny_points()
    m = make("gan", "mlp", data)
    d0 = snapshot(m.nets["D"])
    m.g_step(Batch(data.train[:8]))
    assert all(torch.equal(a, b) for a, b in zip(d0, m.nets["D"].parameters()))
    assert all(p.requires_grad for p in m.nets["D"].parameters())


def test_sample_shapes_ranges_and_mode():
    data = tiny_images(c=3, size=32)
    m = make("gan", "dcgan", data)
    x = m.sample(5)
    assert x.shape == (5, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
    assert m.nets["G"].training            # sampling restores the training mode
    z = m.latent(4, torch.Generator().manual_seed(3))["z"]
    assert torch.equal(m.sample(z=z), m.sample(z=z))


def test_uniform_noise_range():
    m = make("gan", "mlp", tiny_points(), noise="uniform")
    z = m.latent(1000)["z"]
    assert z.min() >= -1 and z.max() <= 1 and z.abs().mean() > 0.4


def test_minimax_generator_loss_is_used():
    data = tiny_points()
    m = make("gan", "mlp", data, g_loss="minimax")
    out = m.g_step(Batch(data.train[:8]))
    assert out["loss_g"] < 0     # log(1 - D) is negative


def test_wgan_gp_logs_distance_and_penalty():
    data = tiny_points()
    m = make("wgan-gp", "mlp", data)
    out = m.d_step(Batch(data.train[:8]))
    assert {"wdist", "gp"} <= set(out) and out["gp"] >= 0
