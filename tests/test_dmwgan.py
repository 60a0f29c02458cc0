import math

import pytest
import torch

from gankit import losses
from gankit.config import load_config
from gankit.data.base import Dataset
from gankit.errors import ConfigError, GankitError
from gankit.models import Batch, build_model
from gankit.models.dmwgan import GeneratorBank, narrowed, prior_loss

TINY = {"name": "dmwgan", "n_generators": 3, "z_dim": 4, "n_critic": 1, "g_width_factor": 0.5,
        "generator": {"name": "mlp", "hidden": [16, 8]}, "discriminator": {"name": "mlp", "hidden": [16]},
        "q_hidden": 8}


def points(n=256):
    return Dataset("toy", "points", torch.randn(n, 2))


def tiny(**opts):
    cfg = load_config({"model": {**TINY, **opts}, "train": {"steps": 1}})
    torch.manual_seed(0)
    return build_model(cfg.model, points())


# ------------------------------------------------------------------------------ structure
def test_generators_are_independent_and_narrower():
    m = tiny()
    gens = m.nets["G"].generators
    assert len(gens) == 3
    widths = [l.out_features for l in gens[0].modules() if isinstance(l, torch.nn.Linear)]
    assert widths == [8, 4, 2]                      # [16, 8] * 0.5, then the 2-D output
    ids = [{id(p) for p in g.parameters()} for g in gens]
    assert not (ids[0] & ids[1]) and not (ids[1] & ids[2])
    assert narrowed(load_config({"model": {**TINY, "generator": {"name": "dcgan", "width": 64, "fc": 1024,
                                                                 "norm": "layer"}},
                                 "train": {"steps": 1}}).model.generator, 0.25).width == 16


def test_bank_routes_each_sample_to_its_generator():
    torch.manual_seed(0)
    gens = [torch.nn.Linear(3, 2) for _ in range(4)]
    bank = GeneratorBank(gens)
    z, c = torch.randn(50, 3), torch.randint(0, 4, (50,))
    out = bank(z, c)
    for i in range(50):
        torch.testing.assert_close(out[i], gens[c[i]](z[i]))


def test_ids_follow_the_prior():
    m = tiny(n_generators=3)
    with torch.no_grad():
        m.nets["prior"].zeta.copy_(torch.log(torch.tensor([0.7, 0.2, 0.1])))
    c = m.latent(40000, torch.Generator().manual_seed(1))["c"]
    freq = torch.bincount(c, minlength=3).float() / len(c)
    torch.testing.assert_close(freq, torch.tensor([0.7, 0.2, 0.1]), atol=0.01, rtol=0)


def test_sample_from_one_generator():
    m = tiny()
    z = torch.rand(6, 4) * 2 - 1
    x = m.sample(6, generator=1, rng=torch.Generator().manual_seed(3))
    z = torch.rand((6, 4), generator=torch.Generator().manual_seed(3)) * 2 - 1
    m.nets["G"].eval()
    torch.testing.assert_close(x, m.nets["G"].generators[1](z))
    for bad in (3, -1, "a"):
        with pytest.raises(GankitError, match=r"integer in \[0, 2\]"):
            m.sample(4, generator=bad)


# ------------------------------------------------------------------------------ losses
def test_one_sided_penalty_ignores_norms_below_one():
    for slope, two, one in ((0.5, 0.25, 0.0), (3.0, 4.0, 4.0)):
        critic = lambda x, s=slope: s * x[:, :1]            # gradient norm = s everywhere
        pts = torch.randn(8, 2)
        assert losses.gradient_penalty(critic, pts).item() == pytest.approx(two)
        assert losses.gradient_penalty(critic, pts, one_sided=True).item() == pytest.approx(one)


def test_prior_loss_at_known_values():
    k = 4
    zeta = torch.zeros(k)
    q = torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    # uniform r: the fit term is mean over batch and classes of -q log(1/k) = log(k) / k; H = log k.
    assert prior_loss(zeta, q, 0.0).item() == pytest.approx(math.log(k) / k)
    assert prior_loss(zeta, q, 2.0).item() == pytest.approx(math.log(k) / k - 2 * math.log(k))


def _credit_generator(m, j):
    """Make Q credit generator j on every input."""
    last = m.nets["Q"][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
        last.bias[j] = 10.0


def test_prior_moves_toward_generators_q_credits_on_real_data():
    m = tiny(prior="learned", entropy_weight=0.0, optim_prior={"lr": 0.05})
    _credit_generator(m, 2)
    m.optimizers["Q"] = torch.optim.SGD(m.nets["Q"].parameters(), lr=0.0)   # keep Q's verdict fixed
    batch = Batch(torch.randn(32, 2))
    for step in range(50):
        m.g_step(batch)
    r = m.prior_probs()
    assert r[2] > 0.4 and r[2] > 2 * max(r[0], r[1])


def test_initial_entropy_bonus_keeps_the_prior_near_uniform():
    m = tiny(prior="learned", optim_prior={"lr": 0.05})   # entropy weight 1000 at the start
    _credit_generator(m, 2)
    m.optimizers["Q"] = torch.optim.SGD(m.nets["Q"].parameters(), lr=0.0)
    batch = Batch(torch.randn(32, 2))
    for step in range(50):
        m.g_step(batch)
    torch.testing.assert_close(m.prior_probs(), torch.full((3,), 1 / 3), atol=0.01, rtol=0)


def test_uniform_prior_is_not_trained():
    m = tiny(prior="uniform")
    assert "prior" not in m.optimizers
    m.g_step(Batch(torch.randn(16, 2)))
    torch.testing.assert_close(m.prior_probs(), torch.full((3,), 1 / 3))


# ------------------------------------------------------------------------------ smoke
def test_smoke_step_touches_sampled_generators_only():
    m = tiny(prior="learned", n_generators=3)
    with torch.no_grad():
        m.nets["prior"].zeta.copy_(torch.tensor([0.0, 0.0, -60.0]))   # generator 2 is never drawn
    before = {n: [p.detach().clone() for p in m.nets[n].parameters()] for n in ("D", "Q", "prior")}
    gens = [[p.detach().clone() for p in g.parameters()] for g in m.nets["G"].generators]
    out = m.train_step(Batch(torch.randn(64, 2)), 0)
    for _ in range(3):                              # Adam momentum must not move generator 2 either
        out = m.train_step(Batch(torch.randn(64, 2)), 1)
    assert all(torch.isfinite(v) for v in out.values())
    assert {"loss_d", "gp", "loss_g", "info_ce", "prior_0"} <= set(out)
    for n in ("D", "Q", "prior"):
        assert any(not torch.equal(a, b) for a, b in zip(before[n], m.nets[n].parameters())), n
    now = [list(g.parameters()) for g in m.nets["G"].generators]
    for i in (0, 1):
        assert all(not torch.equal(a, b) for a, b in zip(gens[i], now[i])), i
    assert all(torch.equal(a, b) for a, b in zip(gens[2], now[2]))


def test_q_loss_does_not_move_the_critic_in_the_generator_step():
    m = tiny()
    d0 = [p.detach().clone() for p in m.nets["D"].parameters()]
    m.g_step(Batch(torch.randn(16, 2)))
    assert all(torch.equal(a, b) for a, b in zip(d0, m.nets["D"].parameters()))


def test_figures_and_metrics_of_a_lines_run(tmp_path):
    from gankit.engine.api import train
    from gankit.run import evaluate

    cfg = {"model": {**TINY, "prior": "learned"},
           "data": {"name": "lines", "n_train": 500, "n_test": 2500, "weights": [0.7, 0.1, 0.1, 0.1]},
           "train": {"steps": 6, "batch_size": 32, "progress": False, "tensorboard": False, "gif": False,
                     "log_every": 2, "sample_every": 3}}
    d = train(cfg, run_dir=tmp_path / "r").run_dir
    assert (d / "generators.png").is_file() and (d / "prior.png").is_file()
    r = evaluate(d, n=2500, device="cpu", write=False)["metrics"]
    assert r["generators_above_1pct"] == 3
    assert sum(r[f"segment{j}_mass"] for j in range(4)) <= 1 + 1e-6
    assert 0 <= r["heavy_segment_mass"] <= 1 and "off_manifold" in r

    from gankit.run import sample

    x = sample(d, 10, generator=1, device="cpu")
    assert x.shape == (10, 2)
    with pytest.raises(GankitError, match="integer in"):
        sample(d, 10, generator=7, device="cpu")


def test_generator_flag_on_a_single_generator_run(tmp_path, ring_config):
    from gankit.engine.api import train
    from gankit.run import sample

    d = train(ring_config(steps=2), run_dir=tmp_path / "r").run_dir
    with pytest.raises(GankitError, match="single generator"):
        sample(d, 4, generator=0, device="cpu")


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("opts,needle", [
    ({"n_generators": 0}, "n_generators must be at least 1"),
    ({"n_generators": -2}, "n_generators must be at least 1"),
    ({"prior": "gaussian"}, "'gaussian' is unknown: use 'uniform'"),
    ({"entropy_weight": -1.0}, "entropy_weight must be >= 0"),
    ({"entropy_decay": 1.5}, "entropy_decay must be in"),
    ({"generator": {"name": "mlp", "hidden": [8], "norm": "batch"}}, "one sample of a batch"),
])
def test_bad_options(opts, needle):
    with pytest.raises(ConfigError, match=needle):
        load_config({"model": {**TINY, **opts}, "train": {"steps": 1}})


# ------------------------------------------------------------------------------ digits+fashion
from pathlib import Path  # noqa: E402

from gankit.data.fashion import DEFAULT_ROOT, FILES  # noqa: E402

fashion_installed = pytest.mark.skipif(not all((Path(DEFAULT_ROOT) / f).is_file() for f in FILES),
                                       reason="dataset-fashion-mnist not installed: apt-get install dataset-fashion-mnist")


@fashion_installed
def test_digits_fashion_mixture_and_domain_shares():
    from gankit.data import load_dataset
    from gankit.metrics.domains import DomainClassifier

    cfg = load_config({"model": {"name": "gan"}, "data": {"name": "digits+fashion"}, "train": {"steps": 1}})
    d = load_dataset(cfg.data)
    assert d.train.shape == (120000, 1, 28, 28) and d.n_classes == 20
    assert torch.bincount((d.train_labels >= 10).long()).tolist() == [60000, 60000]
    assert (d.train_labels[:1000] >= 10).float().mean().item() == pytest.approx(0.5, abs=0.06)   # shuffled
    dc = DomainClassifier()
    digits, garments = d.test[d.test_labels < 10][:500], d.test[d.test_labels >= 10][:500]
    assert dc.shares(digits)["digits"] > 0.9
    assert dc.shares(garments)["fashion"] > 0.7
    assert dc.shares(0.5 * digits + 0.5 * garments)["in_between"] > 0.5     # blends sit between


def test_interpolation_stays_within_one_generator():
    from gankit.viz.traverse import interpolate_latents

    m = tiny()
    g = torch.Generator().manual_seed(0)
    a, b = m.latent(4, g), m.latent(4, g)
    lat = interpolate_latents(a, b, 5, "linear")
    assert lat["z"].shape == (20, 4) and lat["c"].shape == (20,)
    assert torch.equal(lat["c"], a["c"].repeat_interleave(5))
    assert m.sample(**lat).shape == (20, 2)


def test_prior_plot_gives_every_generator_its_own_line():
    from gankit.viz.generators import prior_line_style

    styles = [prior_line_style(i) for i in range(40)]
    assert len(set(styles)) == 40 and styles[0] != styles[10]
