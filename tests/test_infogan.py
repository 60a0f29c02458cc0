import pytest
import torch

from gankit.config import load_config
from gankit.data.base import Dataset
from gankit.errors import ConfigError, GankitError
from gankit.metrics.infogan import hungarian_accuracy
from gankit.models import Batch, build_model


def tiny(**opts):
    data = Dataset("tiny", "image", torch.rand(32, 1, 28, 28) * 2 - 1)
    cfg = load_config({"model": {"name": "infogan", "generator": {"name": "dcgan", "width": 4},
                                 "discriminator": {"name": "dcgan", "width": 4}, **opts},
                       "train": {"steps": 1}})
    torch.manual_seed(0)
    return build_model(cfg.model, data), data


def test_paper_defaults():
    m, _ = tiny()
    assert (m.opts.z_dim, m.opts.categories, m.opts.n_continuous) == (62, [10], 2)
    assert m.g_in_dim() == 74 and m.opts.info_weight_cat == 1.0 and m.opts.info_weight_cont == 1.0


def test_code_sampling_shapes_and_ranges():
    m, _ = tiny(codes=[{"type": "categorical", "size": 10}, {"type": "categorical", "size": 3},
                       {"type": "continuous", "size": 2}])
    lat = m.latent(500)
    assert lat["z"].shape == (500, 62) and lat["z"].abs().max() <= 1
    assert lat["c_cat"].shape == (500, 13)
    assert torch.equal(lat["c_cat"][:, :10].sum(1), torch.ones(500))
    assert torch.equal(lat["c_cat"][:, 10:].sum(1), torch.ones(500))
    assert (lat["c_cat"][:, :10].sum(0) > 20).all()                # every category drawn
    assert lat["c_cont"].shape == (500, 2) and lat["c_cont"].abs().max() <= 1 and lat["c_cont"].std() > 0.4


@pytest.mark.parametrize("variance", ["learned", "fixed"])
def test_information_loss_is_minimal_when_q_recovers_the_codes(variance, monkeypatch):
    m, _ = tiny(cont_variance=variance)
    lat = m.latent(64)
    x = torch.zeros(64, 1, 28, 28)
    logvar = torch.zeros(64, 2) if variance == "learned" else None

    def exact(_x, _features=None):
        return [lat["c_cat"] * 50.0], lat["c_cont"], logvar

    monkeypatch.setattr(m, "q_outputs", exact)
    cat_exact, cont_exact = m.info_loss(x, lat["c_cat"], lat["c_cont"])
    assert cat_exact < 1e-6
    assert cont_exact.item() == pytest.approx(2 * 0.5 * torch.log(torch.tensor(2 * torch.pi)).item(), rel=1e-6)

    def wrong(_x, _features=None):
        return [lat["c_cat"].roll(1, 1) * 50.0], lat["c_cont"] + 0.3, logvar

    monkeypatch.setattr(m, "q_outputs", wrong)
    cat_wrong, cont_wrong = m.info_loss(x, lat["c_cat"], lat["c_cont"])
    assert cat_wrong > cat_exact + 1 and cont_wrong > cont_exact


def params(net):
    return [p.detach().clone() for p in net.parameters()]


def moved(before, net):
    return any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))


def split_d(net):
    """D's shared body and its adversarial head, as parameter snapshots."""
    return params(net.body), params(net.head)


def test_each_step_updates_only_its_networks():
    # Authors' code: D's step = adversarial loss + lambda L_I on its fakes -> D's body, D's head, Q's head;
    # G's step = adversarial + lambda L_I -> G only.
    m, data = tiny()
    g, (body, head), q = params(m.nets["G"]), split_d(m.nets["D"]), params(m.nets["Q"])
    out = m.d_step(Batch(data.train[:8]))
    assert moved(body, m.nets["D"].body) and moved(head, m.nets["D"].head) and moved(q, m.nets["Q"])
    assert not moved(g, m.nets["G"]) and {"info_cat_d", "info_cont_d"} <= set(out)
    d, q = params(m.nets["D"]), params(m.nets["Q"])
    out = m.g_step(Batch(data.train[:8]))
    assert moved(g, m.nets["G"]) and not moved(d, m.nets["D"]) and not moved(q, m.nets["Q"])
    assert all(torch.isfinite(v) for v in out.values()) and {"info_cat", "info_cont"} <= set(out)


def test_d_head_gets_no_information_gradient():
    # The information term reaches D's body, never its adversarial head: with the adversarial loss zeroed,
    # D's step leaves the head where it was and still moves the body.
    m, data = tiny()
    m.d_loss = lambda real, fake: ((real.sum() + fake.sum()) * 0.0, {})
    body, head = split_d(m.nets["D"])
    m.d_step(Batch(data.train[:8]))
    assert moved(body, m.nets["D"].body) and not moved(head, m.nets["D"].head)


def test_q_head_only_option():
    m, data = tiny(info_trains_body=False)
    g, d, q = params(m.nets["G"]), params(m.nets["D"]), params(m.nets["Q"])
    m.d_step(Batch(data.train[:8]))
    assert moved(d, m.nets["D"]) and not moved(g, m.nets["G"]) and not moved(q, m.nets["Q"])
    d = params(m.nets["D"])
    m.g_step(Batch(data.train[:8]))
    assert moved(g, m.nets["G"]) and moved(q, m.nets["Q"]) and not moved(d, m.nets["D"])


def test_hungarian_mapping_on_a_permuted_confusion():
    labels = torch.arange(10).repeat(20)
    perm = torch.tensor([3, 7, 0, 9, 1, 2, 8, 5, 4, 6])
    acc, mapping = hungarian_accuracy(perm[labels], labels, 10, 10)
    assert acc == 1.0 and all(mapping[perm[i]] == i for i in range(10))
    noisy = perm[labels].clone()
    noisy[:20] = perm[(labels[:20] + 1) % 10]                  # 20 of 200 wrong
    assert hungarian_accuracy(noisy, labels, 10, 10)[0] == pytest.approx(0.9)


def test_sample_with_chosen_codes_and_bad_shapes():
    m, _ = tiny()
    lat = m.codes_latent(4, cat=torch.tensor([0, 1, 2, 3]), cont=torch.zeros(4, 2))
    assert torch.equal(lat["c_cat"].argmax(1), torch.tensor([0, 1, 2, 3]))
    assert m.sample(**lat).shape == (4, 1, 28, 28)
    with pytest.raises(GankitError, match="continuous codes must have shape"):
        m.codes_latent(4, cont=torch.zeros(4, 3))
    with pytest.raises(GankitError, match="categorical codes must have shape"):
        m.codes_latent(4, cat=torch.zeros(5, 1, dtype=torch.long))
    with pytest.raises(GankitError, match="takes values 0..9"):
        m.codes_latent(2, cat=torch.tensor([0, 10]))


@pytest.mark.parametrize("codes,needle", [
    ([{"type": "categorical", "size": 0}], "positive number of categories"),
    ([{"type": "continuous", "size": -2}], "positive number of continuous"),
    ([{"type": "binary", "size": 2}], "unknown; code types: categorical, continuous"),
    ([{"type": "categorical"}], "exactly the keys type and size"),
    ([], "needs at least one code"),
])
def test_bad_code_specifications(codes, needle):
    with pytest.raises(ConfigError) as e:
        load_config({"model": {"name": "infogan", "codes": codes}, "train": {"steps": 1}})
    assert needle in str(e.value)


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    from gankit.engine.api import train

    cfg = {"model": {"name": "infogan", "generator": {"name": "dcgan", "width": 4},
                     "discriminator": {"name": "dcgan", "width": 4}},
           "data": {"name": "mnist", "limit": 256},
           "train": {"steps": 4, "batch_size": 16, "progress": False, "tensorboard": False, "gif": False,
                     "eval_every": 4, "eval_metrics": ["cs"], "eval_n": 200}}
    return train(cfg, run_dir=tmp_path_factory.mktemp("info") / "run").run_dir


def test_traversal_pictures(mnist_run, tmp_path):
    from PIL import Image

    from gankit.run import traverse

    files = traverse(mnist_run, tmp_path, steps=5, device="cpu")
    assert set(files) == {"categories", "continuous_0", "continuous_1"}
    w, h = Image.open(files["continuous_0"]).size
    assert (w, h) == (2 + 5 * 30, 2 + 10 * 30)          # 5 columns, one row per categorical value


def test_infogan_scores_in_eval_and_training_log(mnist_run):
    import json

    from gankit.run import evaluate

    r = evaluate(mnist_run, ["cs"], n=200, device="cpu", write=False)
    assert 0.0 <= r["metrics"]["q_accuracy"] <= 1.0 and 0.1 <= r["metrics"]["code_purity"] <= 1.0
    rows = [json.loads(line) for line in (mnist_run / "losses.jsonl").read_text().splitlines()]
    assert any("eval_q_accuracy" in row and "eval_code_purity" in row for row in rows)


def test_traverse_refuses_models_without_codes(tmp_path, ring_config):
    from gankit.engine.api import train
    from gankit.run import traverse

    d = train(ring_config(steps=2), run_dir=tmp_path / "r").run_dir
    with pytest.raises(GankitError, match="categorical latent code"):
        traverse(d)


def test_continuous_term_waits_for_its_warm_up():
    m, data = tiny(info_cont_warmup=3, info_weight_cont=0.5, info_weight_cat=2.0)
    cat, cont = torch.tensor(1.5), torch.tensor(4.0)
    assert m.weighted_info(cat, cont).item() == pytest.approx(3.0)      # step 0: categorical only
    m.train_step(Batch(data.train[:8]), 3)
    assert m.current_step == 3 and m.weighted_info(cat, cont).item() == pytest.approx(5.0)
    with pytest.raises(ConfigError, match="info_cont_warmup must be >= 0"):
        load_config({"model": {"name": "infogan", "info_cont_warmup": -1}, "train": {"steps": 1}})


def test_categorical_input_scale_reaches_g_only():
    m, _ = tiny(cat_input_scale=4.0)
    seen = []
    m.nets["G"].register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    lat = m.latent(6)
    m.generate(**lat)
    g_in = seen[0]
    assert torch.equal(g_in[:, 62:72], 4.0 * lat["c_cat"]) and torch.equal(g_in[:, :62], lat["z"])
    assert torch.equal(lat["c_cat"].sum(1), torch.ones(6))          # the codes Q predicts are unscaled
    with pytest.raises(ConfigError, match="cat_input_scale must be > 0"):
        load_config({"model": {"name": "infogan", "cat_input_scale": 0}, "train": {"steps": 1}})


def test_random_affine_identity_and_jitter():
    from gankit.models.infogan import random_affine

    x = torch.rand(5, 1, 28, 28, requires_grad=True)
    assert torch.allclose(random_affine(x, 0.0, 0.0, 0.0), x, atol=1e-5)      # no jitter: the same images
    torch.manual_seed(0)
    y = random_affine(x, 15.0, 0.1, 0.1)
    assert y.shape == x.shape and not torch.allclose(y, x, atol=1e-2)
    y.sum().backward()                                                           # G learns through it
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_augmented_term_trains_g_and_q_and_is_logged():
    m, data = tiny(info_augment=1.0, cont_variance="fixed")
    before = {n: [p.detach().clone() for p in m.nets[n].parameters()] for n in ("G", "D", "Q")}
    logs = m.train_step(Batch(data.train[:8]), 0)
    assert {"info_aug_d", "info_aug"} <= set(logs) and all(torch.isfinite(v) for v in logs.values())
    for n in ("G", "D", "Q"):
        assert any(not torch.equal(a, b) for a, b in zip(before[n], m.nets[n].parameters())), n
    for bad, needle in [({"info_augment": -1}, "info_augment must be >= 0"),
                        ({"augment_scale": 1.5}, "augment_scale must be < 1"),
                        ({"info_augment": 1, "codes": [{"type": "continuous", "size": 2}]}, "needs a categorical")]:
        with pytest.raises(ConfigError, match=needle):
            load_config({"model": {"name": "infogan", **bad}, "train": {"steps": 1}})


def test_augment_refuses_point_data():
    data = Dataset("pts", "points", torch.rand(32, 2))
    cfg = load_config({"model": {"name": "infogan", "info_augment": 1.0, "generator": {"name": "mlp", "hidden": [8]},
                                 "discriminator": {"name": "mlp", "hidden": [8]}}, "train": {"steps": 1}})
    with pytest.raises(ConfigError, match="info_augment rotates and shifts images"):
        build_model(cfg.model, data)


# ------------------------------------------------------------------------------ the authors' code's settings
def released_tiny(**opts):
    return tiny(generator={"name": "dcgan", "width": 4, "fc": 16, "project_norm": "unit", "out_activation": "sigmoid"},
                discriminator={"name": "dcgan", "width": 4, "fc": 16, "leaky_slope": 0.01},
                pixel_range="unit", q_init="dcgan", **opts)


def test_the_authors_code_settings_build_what_they_say():
    """openai/InfoGAN: leaky_rectify(0.01) in D and Q, batch norm per unit on G's FC 7x7x128, a sigmoid G on
    [0, 1] data, Q initialised N(0, 0.02)."""
    m, _ = released_tiny()
    G, D, Q = m.nets["G"], m.nets["D"], m.nets["Q"]
    slopes = {mod.negative_slope for mod in list(D.modules()) + list(Q.modules()) if isinstance(mod, torch.nn.LeakyReLU)}
    assert slopes == {0.01}
    side = 7 * 7 * 8   # width 4 -> 8 channels at the 7x7 base
    assert any(isinstance(mod, torch.nn.BatchNorm1d) and mod.num_features == side for mod in G.modules())
    assert not any(isinstance(mod, torch.nn.BatchNorm2d) and mod.num_features == 8 for mod in G.modules())
    lin = [mod for mod in Q.modules() if isinstance(mod, torch.nn.Linear)]
    assert all(abs(l.weight.std().item() - 0.02) < 0.006 and not l.bias.abs().any() for l in lin)
    # Samples stay in the toolkit's [-1, 1]; D's first conv sees them as [0, 1].
    x = m.generate(**m.latent(16))
    assert x.min() >= -1 and x.max() <= 1
    seen = {}
    D.body[1].register_forward_hook(lambda mod, inp, out: seen.update(x=inp[0]))
    D(x)
    assert torch.allclose(seen["x"], (x + 1) / 2) and seen["x"].min() >= 0


def test_defaults_keep_the_toolkits_nets():
    m, _ = tiny()
    assert {mod.negative_slope for mod in m.nets["D"].modules() if isinstance(mod, torch.nn.LeakyReLU)} == {0.2}
    assert not any(type(mod).__name__ == "Affine" for mod in m.nets["D"].modules())


def test_released_settings_resume_the_uninterrupted_run(tmp_path):
    from gankit.engine.api import resume, train
    from gankit.engine.checkpoint import load_checkpoint

    net = {"name": "dcgan", "width": 4, "fc": 16}
    cfg = {"model": {"name": "infogan", "generator": {**net, "project_norm": "unit", "out_activation": "sigmoid"},
                     "discriminator": {**net, "leaky_slope": 0.01}, "pixel_range": "unit", "q_init": "dcgan"},
           "data": {"name": "mnist", "limit": 128},
           "train": {"steps": 8, "batch_size": 16, "log_every": 4, "sample_every": 4, "checkpoint_every": 4,
                     "progress": False, "tensorboard": False, "gif": False, "threads": 1}}
    train(cfg, run_dir=tmp_path / "ref")
    train({**cfg, "train": {**cfg["train"], "steps": 4}}, run_dir=tmp_path / "split")
    resume(tmp_path / "split", ["train.steps=8"])
    a, b = load_checkpoint(tmp_path / "ref"), load_checkpoint(tmp_path / "split")
    assert b["step"] == 8 and set(a["model"]["nets"]) == {"G", "D", "Q"}
    for name, sd in a["model"]["nets"].items():
        for k, v in sd.items():
            assert torch.equal(v, b["model"]["nets"][name][k]), (name, k)


def test_unit_pixels_need_a_sigmoid_generator():
    with pytest.raises(ConfigError, match="out_activation=sigmoid"):
        tiny(pixel_range="unit")
    with pytest.raises(ConfigError, match="leaky_slope must be in"):
        tiny(discriminator={"name": "dcgan", "width": 4, "leaky_slope": -0.1})
