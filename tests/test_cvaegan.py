"""CVAE-GAN (Bao et al. 2017) and its baselines cvae and cgan: losses against hand-computed values, one step of
every network, resume, conditional sampling and pictures, the conditional metrics, and bad input."""
import json
import math

import numpy as np
import pytest
import torch

from gankit.config import load_config
from gankit.data.base import Dataset
from gankit.errors import ConfigError, DataError, GankitError
from gankit.losses.conditional import (class_mean_feature_matching, class_means, classifier_loss, cvaegan_d_loss,
                                       kl_loss, mean_feature_matching, pairwise_feature_matching,
                                       reconstruction_loss, update_class_centres)
from gankit.models import Batch, build_model

TINY_NET = {"name": "dcgan", "width": 4}
NETS = {"cgan": ("generator", "discriminator"), "cvae": ("generator", "encoder"),
        "cvaegan": ("generator", "discriminator", "encoder", "classifier")}
NAMES = {"generator": "G", "discriminator": "D", "encoder": "E", "classifier": "C"}


def labelled_images(n=40, k=4, size=28):
    g = torch.Generator().manual_seed(0)
    return Dataset("tiny", "image", torch.rand(n, 1, size, size, generator=g) * 2 - 1,
                   train_labels=torch.arange(n) % k, test=torch.rand(n // 2, 1, size, size, generator=g) * 2 - 1,
                   test_labels=torch.arange(n // 2) % k, n_classes=k)


def make(name, data, **extra):
    model = {"name": name, "z_dim": 6, **{net: dict(TINY_NET) for net in NETS[name]}, **extra}
    torch.manual_seed(0)
    return build_model(load_config({"model": model, "train": {"steps": 2}}).model, data)


# ----------------------------------------------------------------------------------------------- losses
def test_kl_against_closed_form():
    mu, logvar = torch.zeros(3, 4), torch.zeros(3, 4)
    assert kl_loss(mu, logvar) == 0                                      # q = prior
    mu = torch.tensor([[1.0, 2.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)]])
    # 1/2 (mu^2 + sigma^2 - log sigma^2 - 1) per dimension: 1/2 (1) + 1/2 (4 + 4 - log 4 - 1)
    assert kl_loss(mu, logvar).item() == pytest.approx(0.5 + 0.5 * (7 - math.log(4)))


def test_reconstruction_and_pairwise_feature_matching_by_hand():
    x = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    xr = torch.tensor([[0.0, 0.0], [0.0, 2.0]])                  # squared norms 1 and 4
    assert reconstruction_loss(x, xr).item() == pytest.approx(0.5 * (1 + 4) / 2)
    fd, fd2 = torch.tensor([[1.0], [1.0]]), torch.tensor([[3.0], [1.0]])     # 4 and 0
    fc, fc2 = torch.tensor([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([[0.0, 1.0], [1.0, 1.0]])   # 1 and 0
    # L_G = 1/2 mean_i (|x - x'|^2 + |f_D - f_D'|^2 + |f_C - f_C'|^2) = 1/2 ((1 + 4 + 1) + (4 + 0 + 0)) / 2
    assert pairwise_feature_matching(x, xr, fd, fd2, fc, fc2).item() == pytest.approx(0.5 * (6 + 4) / 2)


def test_mean_feature_matching_compares_batch_means_not_pairs():
    real = torch.tensor([[0.0, 2.0], [2.0, 0.0]])                 # mean (1, 1)
    fake = torch.tensor([[1.0, 1.0], [1.0, 1.0]])                 # mean (1, 1): pairs differ, means agree
    assert mean_feature_matching(real, fake).item() == 0
    assert mean_feature_matching(real, fake + 1).item() == pytest.approx(0.5 * 2)


def test_class_centres_are_moving_averages_of_the_real_class_means():
    k, decay = 3, 0.9
    centres, seen = torch.zeros(k, 2), torch.zeros(k, dtype=torch.bool)
    f = torch.tensor([[2.0, 0.0], [4.0, 0.0], [0.0, 6.0]])
    y = torch.tensor([0, 0, 2])
    centres, seen = update_class_centres(centres, seen, f, y, decay)
    assert seen.tolist() == [True, False, True]
    assert torch.allclose(centres, torch.tensor([[3.0, 0.0], [0.0, 0.0], [0.0, 6.0]]))   # first sight: the mean
    f2, y2 = torch.tensor([[13.0, 10.0], [5.0, 5.0]]), torch.tensor([0, 1])
    centres, seen = update_class_centres(centres, seen, f2, y2, decay)
    assert torch.allclose(centres[0], torch.tensor([0.9 * 3 + 0.1 * 13, 0.9 * 0 + 0.1 * 10]))
    assert torch.allclose(centres[1], torch.tensor([5.0, 5.0])) and torch.allclose(centres[2], torch.tensor([0.0, 6.0]))
    # L_GC = 1/2 sum over classes present (and seen) of |centre_c - mean fake feature of c|^2
    fake, fy = torch.tensor([[4.0, 1.0], [2.0, 1.0], [9.0, 9.0]]), torch.tensor([0, 0, 2])
    expected = 0.5 * (((torch.tensor([3.0, 1.0]) - centres[0]) ** 2).sum() + ((torch.tensor([9.0, 9.0]) - centres[2]) ** 2).sum())
    assert class_mean_feature_matching(centres, seen, fake, fy).item() == pytest.approx(expected.item())
    means, counts = class_means(fake, fy, k)
    assert counts.tolist() == [2, 0, 1] and means[1].tolist() == [0.0, 0.0]


def test_class_feature_matching_skips_unseen_classes_and_passes_gradients_to_fakes_only():
    centres, seen = torch.ones(2, 2), torch.tensor([True, False])
    fake = torch.zeros(2, 2, requires_grad=True)
    loss = class_mean_feature_matching(centres, seen, fake, torch.tensor([0, 1]))
    assert loss.item() == pytest.approx(0.5 * 2)                 # class 1 has no centre yet
    loss.backward()
    assert fake.grad[1].abs().sum() == 0 and fake.grad[0].abs().sum() > 0


def test_d_and_c_losses_at_known_outputs():
    zero = torch.zeros(4, 1)
    assert cvaegan_d_loss(zero, zero, zero).item() == pytest.approx(3 * math.log(2))
    big = torch.full((4, 1), 30.0)
    assert cvaegan_d_loss(big, -big, -big).item() == pytest.approx(0, abs=1e-9)   # a perfect D
    assert classifier_loss(torch.zeros(2, 5), torch.tensor([0, 3])).item() == pytest.approx(math.log(5))


# ----------------------------------------------------------------------------------------------- models
def snapshot(net):
    return [p.detach().clone() for p in net.parameters()]


@pytest.mark.parametrize("name", sorted(NETS))
def test_one_step_moves_every_network_with_finite_losses(name):
    data = labelled_images()
    m = make(name, data)
    before = {k: snapshot(v) for k, v in m.nets.items()}
    assert set(m.nets) == {NAMES[n] for n in NETS[name]}
    out = m.train_step(Batch(data.train[:8], data.train_labels[:8]), step=0)
    assert "loss_g" in out and all(torch.isfinite(v).all() for v in out.values())
    for k, net in m.nets.items():
        moved = [not torch.equal(a, b) for a, b in zip(before[k], net.parameters())]
        assert all(moved), (k, [n for (n, _), mv in zip(net.named_parameters(), moved) if not mv])


def test_cvaegan_logs_every_loss_of_the_paper():
    data = labelled_images()
    m = make("cvaegan", data)
    out = m.train_step(Batch(data.train[:8], data.train_labels[:8]), step=0)
    assert {"loss_c", "loss_d", "loss_g", "kl", "l_g", "l_gd", "l_gc", "acc_c"} <= set(out)
    assert m.seen[:4].all()                                      # every class of the batch has its centre


def test_generator_sees_classes_and_encoder_reads_class_planes():
    data = labelled_images(k=4)
    m = make("cvaegan", data)
    assert m.nets["G"][0].in_features == 6 + 4                   # z + one-hot
    assert m.nets["E"].body[0].in_channels == 1 + 4             # image + one plane per class
    assert m.nets["C"].head.out_features == 4 and m.nets["D"].head.out_features == 1
    x = m.with_planes(torch.zeros(2, 1, 28, 28), m.onehot(torch.tensor([1, 3])))
    assert x[0, 2].eq(1).all() and x[0, 1].eq(0).all() and x[1, 4].eq(1).all()


def test_asymmetric_generator_step_has_no_raw_gan_term():
    """G's loss is lambda_1 KL + lambda_2 L_G + lambda_3 L_GD + lambda_4 L_GC, nothing else."""
    data = labelled_images()
    m = make("cvaegan", data)
    out = m.train_step(Batch(data.train[:8], data.train_labels[:8]), step=0)
    o = m.opts
    total = o.kl_weight * out["kl"] + o.rec_weight * out["l_g"] + o.gd_weight * out["l_gd"] + o.gc_weight * out["l_gc"]
    assert out["loss_g"].item() == pytest.approx(total.item(), rel=1e-5)
    assert (o.kl_weight, o.rec_weight, o.gd_weight, o.gc_weight) == (3.0, 1.0, 1e-3, 1e-3)


def test_few_labels_train_c_on_a_balanced_subset_and_infer_the_rest():
    data = labelled_images(n=40, k=4)
    m = make("cvaegan", data, labels=8)
    assert len(m.labelled) == 8 and torch.bincount(data.train_labels[m.labelled]).tolist() == [2, 2, 2, 2]
    out = m.train_step(Batch(data.train[:8], None), step=0)      # the batch's labels are not used
    assert torch.isfinite(out["loss_g"])
    with pytest.raises(ConfigError, match="multiple of 4"):
        make("cvaegan", data, labels=6)
    with pytest.raises(ConfigError, match="model.labels asks for 20 labelled images per class"):
        make("cvaegan", data, labels=80)


@pytest.mark.parametrize("bad, needle", [({"kl_weight": -1}, "kl_weight must be >= 0"),
                                         ({"centre_decay": 1.0}, "centre_decay must be in"),
                                         ({"labels": 0}, "positive number of labelled images")])
def test_bad_options_are_named(bad, needle):
    with pytest.raises(ConfigError, match=needle):
        make("cvaegan", labelled_images(), **bad)


@pytest.mark.parametrize("name", sorted(NETS))
def test_models_refuse_data_without_classes(name):
    points = Dataset("ring", "points", torch.randn(32, 2))
    with pytest.raises(ConfigError, match="without classes"):
        make(name, points)
    unlabelled = Dataset("folder", "image", torch.rand(8, 1, 28, 28))
    with pytest.raises(ConfigError, match="needs classes.*data.labels=subfolders"):
        make(name, unlabelled)
    one = Dataset("folder", "image", torch.rand(8, 1, 28, 28), train_labels=torch.zeros(8, dtype=torch.long),
                  n_classes=1, info={"class_names": ["cats"]})
    with pytest.raises(ConfigError, match="at least 2 classes.*has 1 \\(cats\\)"):
        make(name, one)


def test_conditional_sampling_returns_the_requested_classes_shapes():
    data = labelled_images(k=4)
    m = make("cvaegan", data)
    lat = m.class_latent(torch.tensor([0, 3, 3]), torch.Generator().manual_seed(1))
    assert lat["z"].shape == (3, 6) and lat["c"].argmax(1).tolist() == [0, 3, 3]
    assert m.sample(**lat).shape == (3, 1, 28, 28) and m.sample_class(2, 5).shape == (5, 1, 28, 28)
    with pytest.raises(GankitError, match="class 4 is out of range.*0..3"):
        m.class_latent(torch.tensor([4]))
    rec = m.reconstruct(data.test[:3], data.test_labels[:3], torch.tensor([1, 1, 2]))
    assert rec.shape == (3, 1, 28, 28) and rec.abs().max() <= 1
    with pytest.raises(GankitError, match="target class -1 is out of range"):
        m.reconstruct(data.test[:1], data.test_labels[:1], torch.tensor([-1]))


def test_the_training_grid_orders_the_classes_in_rows():
    m = make("cgan", labelled_images(k=4))
    lat = m.grid_latent(16, torch.Generator().manual_seed(0))   # a 4x4 grid: row k is class k
    assert lat["c"].argmax(1).tolist() == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4 and lat["z"].shape == (16, 6)
    assert m.grid_latent(6)["c"].argmax(1).tolist() == [0, 0, 1, 2, 2, 3]


# ----------------------------------------------------------------------------------------------- runs
def run_config(name, steps=6, **train):
    model = {"name": name, "z_dim": 6, **{net: dict(TINY_NET) for net in NETS[name]}}
    return {"model": model, "data": {"name": "mnist", "limit": 256},
            "train": {"steps": steps, "batch_size": 16, "log_every": 3, "sample_every": 3, "checkpoint_every": 3,
                      "progress": False, "tensorboard": False, "gif": False, "threads": 1, **train}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from gankit.engine.api import train

    root = tmp_path_factory.mktemp("cond")
    return {name: train(run_config(name), run_dir=root / name).run_dir for name in ("cvaegan", "cgan")}


@pytest.mark.parametrize("extra", [{}, {"labels": 20}], ids=["all-labels", "20-labels"])
def test_resume_reproduces_the_uninterrupted_run(tmp_path, extra):
    from gankit.engine.api import resume, train
    from gankit.engine.checkpoint import load_checkpoint

    cfg = run_config("cvaegan", steps=12)
    cfg["model"].update(extra)
    train(cfg, run_dir=tmp_path / "ref")
    train({**cfg, "train": {**cfg["train"], "steps": 6}}, run_dir=tmp_path / "split")
    resume(tmp_path / "split", ["train.steps=12"])
    a, b = load_checkpoint(tmp_path / "ref"), load_checkpoint(tmp_path / "split")
    assert b["step"] == 12
    for net, sd in a["model"]["nets"].items():
        for k, v in sd.items():
            assert torch.equal(v, b["model"]["nets"][net][k]), (net, k)
    assert torch.equal(a["model"]["extra"]["centres"], b["model"]["extra"]["centres"])


def test_pictures_of_the_python_api(runs, tmp_path):
    from PIL import Image

    from gankit.pictures import class_grid, reconstruct, transfer
    from gankit.run import interpolate, sample

    d = runs["cvaegan"]
    x = class_grid(d, per_class=4, out=tmp_path / "grid.png", device="cpu")
    assert x.shape == (40, 1, 28, 28) and Image.open(tmp_path / "grid.png").size == (2 + 4 * 30, 2 + 10 * 30)
    t = transfer(d, n=3, source_class=7, out=tmp_path / "t.png", device="cpu")
    assert t.shape == (3 * 11, 1, 28, 28) and Image.open(tmp_path / "t.png").size == (2 + 11 * 30, 2 + 3 * 30)
    r = reconstruct(d, n=8, out=tmp_path / "r.png", device="cpu")
    assert r.shape == (16, 1, 28, 28) and (tmp_path / "r.png").exists()
    assert sample(d, 5, class_=3, device="cpu").shape == (5, 1, 28, 28)
    for vary in ("z", "c"):
        assert interpolate(d, pairs=2, steps=3, device="cpu", vary=vary).shape == (6, 1, 28, 28)


def test_cli_pictures_and_their_errors(runs, tmp_path, capsys):
    from gankit.cli import main

    d = str(runs["cvaegan"])
    assert main(["sample", d, "--class-grid", "--n", "3", "--out", str(tmp_path / "g.png")]) == 0
    assert main(["sample", d, "--transfer", "--n", "2", "--out", str(tmp_path / "t.png")]) == 0
    assert main(["sample", d, "--reconstruct", "--out", str(tmp_path / "r.png")]) == 0
    assert main(["sample", d, "--class", "2", "--n", "4", "--out", str(tmp_path / "c.png")]) == 0
    assert all((tmp_path / f).exists() for f in ("g.png", "t.png", "r.png", "c.png"))
    capsys.readouterr()
    assert main(["sample", d, "--class", "10", "--out", str(tmp_path / "x.png")]) == 2
    assert "class 10 is out of range" in capsys.readouterr().err and not (tmp_path / "x.png").exists()
    assert main(["sample", d, "--transfer", "--source-class", "12"]) == 2
    assert "--source-class 12 is out of range" in capsys.readouterr().err
    assert main(["sample", str(runs["cgan"]), "--transfer"]) == 2
    assert "needs a model with an encoder" in capsys.readouterr().err
    assert main(["sample", d, "--transfer", "--reconstruct"]) == 2


def test_class_options_refused_for_models_without_classes(tmp_path, ring_config):
    from gankit.engine.api import train
    from gankit.pictures import class_grid
    from gankit.run import sample

    d = train(ring_config(steps=2), run_dir=tmp_path / "ring").run_dir
    with pytest.raises(GankitError, match="class-conditional models"):
        sample(d, 4, class_=0)
    with pytest.raises(GankitError, match="class-conditional models"):
        class_grid(d)


def test_conditional_metrics_in_eval(runs):
    from gankit.run import evaluate

    r = evaluate(runs["cvaegan"], ["fid"], n=300, device="cpu", write=False)["metrics"]
    for k in ("discriminability", "discriminability_real", "transfer_accuracy"):
        assert 0 <= r[k] <= 1, k
    assert r["discriminability_real"] > 0.95                      # the bundled classifier on real test digits
    assert r["rec_mse"] > 0 and r["rec_fid"] > 0 and r["cfid_mean"] > 0 and "cfid_9" in r
    g = evaluate(runs["cgan"], ["fid"], n=300, device="cpu", write=False)["metrics"]
    assert "discriminability" in g and "rec_mse" not in g and "transfer_accuracy" not in g


def test_metric_helpers():
    from gankit.metrics.conditional import discriminability, per_class_fid, transfer_targets

    y = torch.arange(10).repeat(50)
    t = transfer_targets(y, 10)
    assert (t != y).all() and set(t.tolist()) == set(range(10))
    probs = torch.eye(3)[torch.tensor([0, 1, 1, 2])]
    assert discriminability(probs, torch.tensor([0, 1, 2, 2])) == 0.75
    g = torch.Generator().manual_seed(0)
    f = torch.randn(600, 4, generator=g)
    fy = torch.arange(600) % 3
    out = per_class_fid(f, fy, f + torch.tensor([3.0, 0, 0, 0]) * (fy == 1)[:, None], fy, 3)
    assert out["cfid_0"] == pytest.approx(0, abs=1e-6) and out["cfid_1"] == pytest.approx(9, rel=1e-3)
    assert out["cfid_mean"] == pytest.approx((out["cfid_0"] + out["cfid_1"] + out["cfid_2"]) / 3)


# ----------------------------------------------------------------------------------------------- folders
def write_classes(root, classes=("cats", "dogs"), per=6):
    from PIL import Image

    for i, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for j in range(per):
            Image.fromarray(np.full((12, 12), 40 * i + j, np.uint8)).save(root / name / f"{j}.png")


def test_folder_classes_from_subfolders(tmp_path):
    from gankit.data import load_dataset

    write_classes(tmp_path / "pets", ("cats", "dogs", "owls"))
    cfg = load_config({"data": {"name": "folder", "root": str(tmp_path / "pets"), "labels": "subfolders",
                                "image_size": 8, "channels": 1, "test_fraction": 0.25, "cache": False},
                       "train": {"steps": 1}})
    d = load_dataset(cfg.data)
    assert d.n_classes == 3 and d.info["class_names"] == ["cats", "dogs", "owls"]
    assert len(d.train_labels) == len(d.train) and len(d.test_labels) == len(d.test) == 4
    assert sorted(torch.cat([d.train_labels, d.test_labels]).tolist()) == [0] * 6 + [1] * 6 + [2] * 6
    # the label is the folder's: images of class i are all of grey level 40 i .. 40 i + 5
    x = torch.cat([d.train, d.test]) if d.test is not None else d.train
    grey = ((x[:, 0, 0, 0] + 1) * 127.5).round()
    assert ((grey // 40) == torch.cat([d.train_labels, d.test_labels])).all()


@pytest.mark.parametrize("layout, needle", [("flat", "without class sub-folders"),
                                            ("mixed", "outside any class sub-folder")])
def test_folder_without_class_subfolders_is_named(tmp_path, layout, needle):
    from PIL import Image

    from gankit.data import load_dataset

    root = tmp_path / "imgs"
    if layout == "mixed":
        write_classes(root)
    root.mkdir(exist_ok=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "loose.png")
    cfg = load_config({"data": {"name": "folder", "root": str(root), "labels": "subfolders", "cache": False},
                       "train": {"steps": 1}})
    with pytest.raises(DataError, match=needle):
        load_dataset(cfg.data)


def test_cvaegan_on_a_folder_without_classes_writes_nothing(tmp_path):
    from gankit.cli import main

    write_classes(tmp_path / "one", ("cats",))
    out = tmp_path / "run"
    for labels, needle in (("none", "needs classes"), ("subfolders", "at least 2 classes")):
        code = main(["train", "cvaegan-folder", f"data.root={tmp_path / 'one'}", f"data.labels={labels}",
                     "data.cache=false", "--out", str(out), "--no-progress"])
        assert code == 2 and not out.exists(), labels


def test_cvaegan_folder_recipe_trains_on_class_folders(tmp_path):
    from gankit.engine.api import train

    write_classes(tmp_path / "pets", ("cats", "dogs"), per=10)
    nets = [f"model.{n}.width=4" for n in NETS["cvaegan"]]
    res = train("cvaegan-folder", [f"data.root={tmp_path / 'pets'}", "data.cache=false", "data.image_size=16",
                                   "train.steps=2", "train.batch_size=8", "train.progress=false",
                                   "train.tensorboard=false", "train.gif=false", *nets], run_dir=tmp_path / "run")
    assert res.status == "finished" and (res.run_dir / "samples.png").exists()
