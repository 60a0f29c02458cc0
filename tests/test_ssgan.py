import json
import math

import pytest
import torch
import torch.nn.functional as F

from gankit import losses
from gankit.config import load_config
from gankit.data.base import Dataset
from gankit.errors import ConfigError
from gankit.models import Batch, build_model
from gankit.models.ssgan import WNLinear, labelled_subset

TINY = {"name": "ssgan", "labels_per_class": 3, "d_hidden": [24, 12], "g_hidden": [16], "z_dim": 8,
        "weight_norm_init": 40}


def labelled_images(n=120, n_classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % n_classes
    x = torch.rand(n, 1, 8, 8, generator=g) * 2 - 1
    return Dataset("tiny", "image", x, y, x[:40].clone(), y[:40].clone(), n_classes)


def tiny(data=None, **opts):
    data = data or labelled_images()
    cfg = load_config({"model": {**TINY, **opts}, "train": {"steps": 1}})
    torch.manual_seed(0)
    return build_model(cfg.model, data), data


# ------------------------------------------------------------------------------ losses
def test_implicit_fake_class_matches_a_k_plus_1_softmax():
    logits = torch.randn(64, 10) * 4
    full = torch.cat([logits, torch.zeros(64, 1)], 1)       # the fake class has logit 0
    p_fake = F.softmax(full, 1)[:, -1]
    torch.testing.assert_close(losses.log_d_real(logits), torch.log1p(-p_fake))
    torch.testing.assert_close(losses.log_d_fake(logits), torch.log(p_fake))
    # D(x) = Z / (Z + 1)
    z = logits.exp().sum(1)
    torch.testing.assert_close(losses.log_d_real(logits).exp(), z / (z + 1))


def test_implicit_fake_class_is_stable_for_large_logits():
    big = torch.tensor([[200.0, -5.0], [-300.0, -300.0]])
    assert torch.isfinite(losses.log_d_real(big)).all() and torch.isfinite(losses.log_d_fake(big)).all()
    assert losses.log_d_real(big)[0].item() == pytest.approx(0.0, abs=1e-6)
    assert losses.log_d_fake(big)[1].item() == pytest.approx(0.0, abs=1e-6)


def test_losses_at_known_values():
    # All logits 0 over K classes: Z = K, D = K / (K + 1).
    k = 4
    zeros = torch.zeros(5, k)
    expect = -0.5 * math.log(k / (k + 1)) - 0.5 * math.log(1 / (k + 1))
    assert losses.unsupervised_loss(zeros, zeros).item() == pytest.approx(expect, rel=1e-6)
    y = torch.tensor([0, 1, 2, 3, 0])
    assert losses.supervised_loss(zeros, y).item() == pytest.approx(math.log(k), rel=1e-6)
    real, fake = torch.randn(7, 3), torch.randn(7, 3)
    direct = -(0.5 * losses.log_d_real(real).mean() + 0.5 * losses.log_d_fake(fake).mean())
    torch.testing.assert_close(losses.unsupervised_loss(real, fake), direct)


def test_feature_matching_reductions():
    a, b = torch.zeros(4, 5), torch.ones(4, 5)
    assert losses.feature_matching_loss(a, b).item() == pytest.approx(5.0)
    assert losses.feature_matching_loss(a, b, reduction="mean").item() == pytest.approx(1.0)


# ------------------------------------------------------------------------------ networks
def test_weight_norm_layer_and_data_dependent_init():
    torch.manual_seed(0)
    layer = WNLinear(20, 7)
    x = torch.randn(256, 20) * 3 + 1
    direct = x @ (layer.v * (layer.g / layer.v.norm(dim=1)).unsqueeze(1)).t() + layer.b
    torch.testing.assert_close(layer(x), direct)
    layer.init_from(x)
    a = layer(x)   # Salimans & Kingma 2016 sec. 3: zero mean and unit variance per unit on the init batch
    torch.testing.assert_close(a.mean(0), torch.zeros(7), atol=1e-4, rtol=0)
    torch.testing.assert_close(a.var(0, unbiased=False), torch.ones(7), atol=1e-4, rtol=0)
    assert not isinstance(layer.g, torch.nn.Parameter)       # hidden scales are not trained (authors' code)
    assert isinstance(WNLinear(3, 2, train_scale=True).g, torch.nn.Parameter)


def test_paper_networks():
    data = Dataset("m", "image", torch.zeros(100, 1, 28, 28), torch.arange(100) % 10,
                   torch.zeros(10, 1, 28, 28), torch.arange(10), 10)
    cfg = load_config({"model": {"name": "ssgan", "weight_norm_init": 0}, "train": {"steps": 1}})
    m = build_model(cfg.model, data)
    widths = [layer.v.shape for layer in m.nets["D"].hidden] + [m.nets["D"].out.v.shape]
    assert widths == [(1000, 784), (500, 1000), (250, 500), (250, 250), (250, 250), (10, 250)]
    z = m.latent(5)["z"]
    assert z.shape == (5, 100) and z.min() >= 0 and z.max() <= 1       # U(0, 1) as the code
    x = m.sample(4)
    assert x.shape == (4, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert m.optimizers["D"].param_groups[0]["lr"] == pytest.approx(3e-3)


def test_d_noise_only_in_training_mode():
    m, data = tiny()
    D = m.nets["D"]
    x = data.train[:8].flatten(1)
    D.eval()
    assert torch.equal(D(x), D(x))
    D.train()
    assert not torch.equal(D(x), D(x))


# ------------------------------------------------------------------------------ labelled subset
def test_labelled_subset_is_balanced_seeded_and_from_train_only():
    y = torch.arange(1000) % 10
    a = labelled_subset(y, 10, 10, seed=1)
    assert len(a) == 100 and len(set(a.tolist())) == 100
    assert torch.bincount(y[a], minlength=10).tolist() == [10] * 10
    assert torch.equal(a, labelled_subset(y, 10, 10, seed=1))
    assert not torch.equal(a, labelled_subset(y, 10, 10, seed=2))
    assert a.min() >= 0 and a.max() < 1000        # indices into the training set (the test set is apart)


def test_numpy_draw_is_the_released_codes_selection():
    """label_draw: numpy picks as openai/improved-gan does: inds = RandomState(seed_data).permutation(n), then the
    first `count` images of each class in that order (checked against that recipe written out with numpy)."""
    import numpy as np

    y = torch.arange(1000) % 10
    perm = np.random.RandomState(1).permutation(1000)
    want = np.concatenate([perm[y.numpy()[perm] == k][:10] for k in range(10)])
    got = labelled_subset(y, 10, 10, seed=1, draw="numpy")
    assert got.tolist() == want.tolist()
    assert not torch.equal(got, labelled_subset(y, 10, 10, seed=1))      # torch's draw is another subset
    data = labelled_images()
    cfg = load_config({"model": {**TINY, "label_draw": "numpy", "label_seed": 1}, "train": {"steps": 1}})
    torch.manual_seed(5)
    m = build_model(cfg.model, data)
    assert m.labelled.tolist() == labelled_subset(data.train_labels, TINY["labels_per_class"], data.n_classes, 1,
                                                  draw="numpy").tolist()


def test_label_seed_follows_the_run_seed_and_can_be_fixed():
    data = labelled_images()
    cfg = load_config({"model": TINY, "train": {"steps": 1}})
    torch.manual_seed(3)
    a = build_model(cfg.model, data).labelled
    torch.manual_seed(4)
    b = build_model(cfg.model, data).labelled
    assert not torch.equal(a, b)
    fixed = load_config({"model": {**TINY, "label_seed": 7}, "train": {"steps": 1}})
    torch.manual_seed(3)
    c = build_model(fixed.model, data).labelled
    torch.manual_seed(4)
    assert torch.equal(c, build_model(fixed.model, data).labelled)


# ------------------------------------------------------------------------------ training
def test_smoke_step_updates_d_g_and_the_average():
    m, data = tiny()
    before = {n: [p.detach().clone() for p in m.nets[n].parameters()] for n in ("D", "G", "D_avg")}
    out = m.train_step(Batch(data.train[:16], data.train_labels[:16]), 0)
    assert set(out) == {"d_sup", "d_unsup", "train_err", "g_fm"}
    assert all(torch.isfinite(v) for v in out.values())
    for n in ("D", "G", "D_avg"):
        changed = [not torch.equal(a, b) for a, b in zip(before[n], m.nets[n].parameters())]
        assert all(changed), n
    # After one update the bias-corrected average equals D's weights.
    for a, b in zip(m.nets["D"].parameters(), m.nets["D_avg"].parameters()):
        torch.testing.assert_close(a, b)


def test_supervised_only_baseline_trains_no_generator():
    m, data = tiny(unlabeled_weight=0.0)
    assert "G" not in m.optimizers
    g0 = [p.detach().clone() for p in m.nets["G"].parameters()]
    out = m.train_step(Batch(data.train[:16], data.train_labels[:16]), 0)
    assert set(out) == {"d_sup", "train_err"}
    assert all(torch.equal(a, b) for a, b in zip(g0, m.nets["G"].parameters()))


def test_supervised_loss_uses_only_the_labelled_subset():
    m, data = tiny()
    assert len(m.labelled) == 12
    torch.testing.assert_close(m._x_lab, ((data.train[m.labelled] + 1) / 2).flatten(1))
    assert torch.equal(m._y_lab, data.train_labels[m.labelled])
    for step in range(3):   # the unlabelled batch needs no labels: they are never read
        out = m.train_step(Batch(data.train[:16]), step)
    assert torch.isfinite(out["d_sup"])


def test_test_error_and_best_error():
    m, data = tiny()
    first = m.extra_metrics(data)
    assert set(first) == {"test_error", "test_error_raw", "best_test_error", "labels"}
    assert 0 <= first["test_error"] <= 1 and first["labels"] == 12
    m.best_error = 0.01
    assert m.extra_metrics(data)["best_test_error"] == pytest.approx(min(0.01, m.test_error()))


def test_resume_reproduces_the_uninterrupted_run(tmp_path):
    from gankit.engine.api import resume, train

    cfg = {"model": {**TINY, "weight_norm_init": 50}, "data": {"name": "mnist", "limit": 200},
           "train": {"steps": 12, "batch_size": 20, "checkpoint_every": 3, "log_every": 3, "sample_every": 6,
                     "eval_every": 4, "eval_metrics": [], "progress": False, "tensorboard": False,
                     "gif": False, "n_grid": 4}}
    half = {**cfg, "train": {**cfg["train"], "steps": 6}}
    train(cfg, run_dir=tmp_path / "ref")
    train(half, run_dir=tmp_path / "split")
    resume(tmp_path / "split", ["train.steps=12"])
    a = torch.load(tmp_path / "ref" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=True)
    for net in ("D", "G", "D_avg"):
        for k, v in a["model"]["nets"][net].items():
            assert torch.equal(v, b["model"]["nets"][net][k]), (net, k)
    assert a["model"]["extra"]["lab_stream"] == b["model"]["extra"]["lab_stream"]
    rows = [json.loads(line) for line in (tmp_path / "split" / "losses.jsonl").read_text().splitlines()]
    assert [r["eval_test_error"] for r in rows if "eval_test_error" in r]
    from gankit.run import evaluate

    # gankit eval rebuilds the model from the checkpoint: the averaged D and its subset must come back.
    ref_rows = [json.loads(line) for line in (tmp_path / "ref" / "losses.jsonl").read_text().splitlines()]
    last = [r for r in ref_rows if "eval_test_error" in r][-1]
    r = evaluate(tmp_path / "ref", [], n=10, device="cpu", write=False)
    assert r["metrics"]["test_error"] == pytest.approx(last["eval_test_error"])
    assert r["metrics"]["test_error_raw"] == pytest.approx(last["eval_test_error_raw"])
    assert r["metrics"]["labels"] == 30


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("opts,needle", [
    ({"labels_per_class": 0}, "at least 1 labelled image per class"),
    ({"labels_per_class": -2}, "at least 1 labelled image per class"),
    ({"unlabeled_weight": -1.0}, "unlabeled_weight must be >= 0"),
    ({"d_hidden": []}, "d_hidden must be a non-empty list"),
    ({"avg_rate": 1.0}, "avg_rate must be below 1"),
    ({"label_draw": "random"}, "label_draw"),
])
def test_bad_options(opts, needle):
    with pytest.raises(ConfigError, match=needle):
        load_config({"model": {**TINY, **opts}, "train": {"steps": 1}})


def test_more_labels_than_a_class_has():
    with pytest.raises(ConfigError, match="class 0 has only 30 training images"):
        tiny(labels_per_class=31)


def test_dataset_without_labels():
    data = Dataset("folder", "image", torch.zeros(50, 1, 8, 8))
    with pytest.raises(ConfigError, match="no class labels"):
        tiny(data)
    cfg = load_config({"model": TINY, "data": {"name": "ring", "n_train": 64, "n_test": 16}, "train": {"steps": 1}})
    from gankit.data import load_dataset

    with pytest.raises(ConfigError, match="'ring' has no class labels"):
        build_model(cfg.model, load_dataset(cfg.data))


def test_adam_with_eps_inside_the_sqrt():
    from gankit.models.optim import AdamEpsInSqrt

    torch.manual_seed(0)
    a, b = torch.nn.Parameter(torch.randn(6)), None
    b = torch.nn.Parameter(a.detach().clone())
    ours = AdamEpsInSqrt([a], lr=0.01, betas=(0.5, 0.999), eps=0.0)
    ref = torch.optim.Adam([b], lr=0.01, betas=(0.5, 0.999), eps=0.0)
    for _ in range(10):            # eps = 0: both are plain Adam
        g = torch.randn(6)
        a.grad, b.grad = g.clone(), g.clone()
        ours.step()
        ref.step()
    torch.testing.assert_close(a, b)
    # Tiny gradients: torch's form takes a full lr step, the Theano form a step shrunk by |g| / sqrt(eps).
    p = torch.nn.Parameter(torch.zeros(1))
    opt = AdamEpsInSqrt([p], lr=1.0, betas=(0.5, 0.999), eps=1e-8)
    p.grad = torch.tensor([1e-6])
    opt.step()
    assert abs(p.item()) == pytest.approx(1e-6 / math.sqrt(1e-12 + 1e-8), rel=1e-4)
    m, _ = tiny()
    assert isinstance(m.optimizers["D"], AdamEpsInSqrt)


def test_the_recipe_keeps_the_mnist_scripts_constant_rate():
    """Regression (issue 23): the recipe once decayed the rate over its last third, citing the released MNIST
    script; that script trains at a constant 3e-3 for 300 epochs (`lr = 0.003`), and lr * min(3 - epoch/400, 1)
    is its CIFAR-10 script's. The recipe, and the recipes that extend it, keep the constant rate."""
    from gankit.models.optim import lr_factor

    for recipe in ("ssgan-mnist-100", "ssgan-mnist-50", "ssgan-mnist-20", "ssgan-fashion-100"):
        cfg = load_config(recipe)
        horizon = 300 * 600
        for name in ("optim_d", "optim_g"):
            o = getattr(cfg.model, name)
            assert (o.lr, o.betas[0], o.schedule) == (3e-3, 0.5, "constant"), (recipe, name)
            for epoch in (0, 150, 250, 299):
                assert lr_factor(o, epoch * 600, horizon) == 1.0, (recipe, name, epoch)


def test_the_cifar_scripts_schedule_is_one_override_away():
    """decay_start reproduces the CIFAR-10 script's lr * min(3 - epoch/400, 1) over 1,200 epochs, and a shorter
    run compresses the same shape."""
    from gankit.models.optim import lr_factor

    shape = {"schedule": "linear", "decay_start": 2 / 3}
    cfg = load_config({"model": {"name": "ssgan", "optim_d": shape}, "data": {"name": "mnist"},
                       "train": {"epochs": 1200, "batch_size": 100}})
    o = cfg.model.optim_d
    for epoch in (0, 400, 799, 800, 1000, 1199):
        assert lr_factor(o, epoch * 500, 1200 * 500) == pytest.approx(min(3 - epoch / 400, 1.0), abs=1e-9), epoch
    assert lr_factor(o, 39 * 600, 60 * 600) == 1.0
    assert lr_factor(o, 50 * 600, 60 * 600) == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [1.0, -0.1, 1.5])
def test_decay_start_must_be_a_fraction(bad):
    with pytest.raises(ConfigError, match="decay_start must be a fraction"):
        load_config({"model": {"name": "gan", "optim_d": {"schedule": "linear", "decay_start": bad}},
                     "train": {"steps": 5}})


def test_decay_start_needs_a_decaying_schedule():
    with pytest.raises(ConfigError, match="schedule is 'constant'; set config.model.optim_g.schedule to linear or cosine"):
        load_config({"model": {"name": "gan", "optim_g": {"decay_start": 0.5}}, "train": {"steps": 5}})
