"""model.g_ema: the moving average of G's weights that sampling and evaluation use (models/average.py)."""
import pytest
import torch

from gankit.config import load_config
from gankit.data.base import Dataset
from gankit.engine.api import resume, train
from gankit.engine.checkpoint import load_checkpoint
from gankit.errors import ConfigError
from gankit.models import Batch, build_model
from gankit.run import load_run, sample


def tiny(model="gan", nets="mlp", **extra):
    if nets == "mlp":
        data = Dataset("tiny", "points", torch.randn(64, 2))
        g, d = {"name": "mlp", "hidden": [16]}, {"name": "mlp", "hidden": [16]}
    else:
        data = Dataset("tiny", "image", torch.rand(16, 1, 28, 28) * 2 - 1)
        g, d = {"name": "dcgan", "width": 8}, {"name": "dcgan", "width": 8, "norm": "layer"}
    cfg = load_config({"model": {"name": model, "z_dim": 8, "generator": g, "discriminator": d, **extra},
                       "train": {"steps": 4}})
    torch.manual_seed(0)
    return build_model(cfg.model, data), data


def weights(net):
    return [p.detach().clone() for p in net.parameters()]


def test_the_average_follows_its_recursion_with_the_warm_up():
    m, data = tiny(g_ema=0.5)
    ema = weights(m.nets["G"])                    # the average starts at the initial weights
    for n in range(1, 5):
        m.train_step(Batch(data.train[:16]), step=n - 1)
        beta = min(0.5, (1 + n) / (10 + n))       # n = 1, 2: the warm-up (0.18, 0.25); then 0.5
        ema = [beta * a + (1 - beta) * p for a, p in zip(ema, weights(m.nets["G"]))]
    assert m.ema.updates == 4
    for a, b in zip(ema, m.ema.params):
        torch.testing.assert_close(a, b)


def test_samples_come_from_the_average_and_leave_the_trained_g_as_it_was():
    m, data = tiny(g_ema=0.9)
    for s in range(3):
        m.train_step(Batch(data.train[:16]), step=s)
    live = weights(m.nets["G"])
    z = torch.randn(5, 8)
    got = m.sample(z=z)
    with torch.no_grad():
        expected = torch.func.functional_call(
            m.nets["G"], dict(zip([n for n, _ in m.nets["G"].named_parameters()], m.ema.params)), (z,))
        trained = m.nets["G"](z)
    torch.testing.assert_close(got, expected)
    assert not torch.allclose(got, trained)
    for a, b in zip(live, m.nets["G"].parameters()):
        assert torch.equal(a, b)


def test_batch_norm_statistics_are_re_estimated_for_the_average_then_restored():
    m, data = tiny("gan", "dcgan", g_ema=0.9)
    for s in range(3):
        m.train_step(Batch(data.train[:16]), step=s)
    G = m.nets["G"]
    bn = [mod for mod in G.modules() if isinstance(mod, torch.nn.BatchNorm2d)]
    assert bn
    before = [(b.running_mean.clone(), b.running_var.clone(), int(b.num_batches_tracked)) for b in bn]
    a = m.sample(6, generator=torch.Generator().manual_seed(1))
    b = m.sample(6, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and torch.isfinite(a).all()       # the same weights give the same samples
    for mod, (mean, var, count) in zip(bn, before):
        assert torch.equal(mod.running_mean, mean) and torch.equal(mod.running_var, var)
        assert int(mod.num_batches_tracked) == count
        assert mod.momentum == 0.1


def test_checkpoint_round_trip_and_a_checkpoint_without_an_average():
    m, data = tiny(g_ema=0.99)
    for s in range(3):
        m.train_step(Batch(data.train[:16]), step=s)
    state = m.state_dict()
    other, _ = tiny(g_ema=0.99)
    other.load_state_dict(state)
    assert other.ema.updates == 3
    for a, b in zip(m.ema.params, other.ema.params):
        assert torch.equal(a, b)
    plain, _ = tiny()
    assert plain.ema is None and "g_ema" not in plain.state_dict()
    other.load_state_dict(plain.state_dict())     # e.g. --branch with g_ema switched on: starts from G
    assert other.ema.updates == 0
    for a, b in zip(other.ema.params, other.nets["G"].parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("value", [1.0, -0.1, 1.5])
def test_a_decay_outside_zero_one_is_refused(value):
    with pytest.raises(ConfigError, match=r"model.g_ema must be in \[0, 1\)"):
        load_config({"model": {"name": "gan", "g_ema": value}, "train": {"steps": 1}})


def test_a_model_without_one_generator_g_is_refused():
    data = Dataset("tiny", "points", torch.randn(8, 2))
    cfg = load_config({"model": {"name": "gan", "z_dim": 4, "g_ema": 0.9}, "train": {"steps": 1}})
    m = build_model(cfg.model, data)            # fine with a G...
    m.nets["G_A"] = m.nets.pop("G")             # ...and refused, by name, without one
    from gankit.models.average import GeneratorAverage
    with pytest.raises(ConfigError, match="averages a model's one trained generator 'G'.*G_A"):
        GeneratorAverage.for_model(m)


def test_resume_keeps_the_average_exactly(tmp_path, ring_config):
    cfg = ring_config(steps=8, checkpoint_every=4, log_every=4, sample_every=4)
    cfg["model"]["g_ema"] = 0.9
    half = {**cfg, "train": {**cfg["train"], "steps": 4}}
    train(cfg, run_dir=tmp_path / "ref")
    train(half, run_dir=tmp_path / "split")
    resume(tmp_path / "split", ["train.steps=8"])
    a, b = load_checkpoint(tmp_path / "ref")["model"]["g_ema"], load_checkpoint(tmp_path / "split")["model"]["g_ema"]
    assert a["updates"] == b["updates"] == 8
    for x, y in zip(a["params"], b["params"]):
        assert torch.equal(x, y)
    # the saved run samples from its average
    run = load_run(tmp_path / "ref")
    assert run.model.ema is not None and sample(tmp_path / "ref", n=4).shape == (4, 2)
