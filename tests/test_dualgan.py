"""DualGAN and two-domain data: the pairs, the known translations, the losses, the steps, resume, translate."""
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from gankit import losses
from gankit.cli import main
from gankit.config import load_config
from gankit.data import load_dataset
from gankit.data.base import Dataset
from gankit.data.transforms import TRANSFORMS, invert, rotate90, rotate270, sobel_edges
from gankit.engine.api import resume, train
from gankit.errors import ConfigError, DataError, GankitError
from gankit.metrics.translation import class_mapping, ssim, translation_metrics
from gankit.models import Batch, build_model
from gankit.run import load_run, translate

TINY_NETS = {"generator": {"width": 4, "depth": 2}, "discriminator": {"width": 4, "layers": 1}}


def tiny_pair(n=16, c=1, size=28, paired=True):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 2, c, size, size, generator=g) * 2 - 1
    test = torch.rand(8, 2, c, size, size, generator=g) * 2 - 1
    return Dataset("pair", "pair", x, test=test, info={"paired_test": paired, "transform": None,
                                                        "classifiers": (None, None)})


def make(objective="paper", **extra):
    cfg = load_config({"model": {"name": "dualgan", "objective": objective, **TINY_NETS, **extra},
                       "data": {"name": "pair", "pair": "mnist-invert"}, "train": {"steps": 2}})
    torch.manual_seed(0)
    return build_model(cfg.model, tiny_pair())


def snapshot(net):
    return [p.detach().clone() for p in net.parameters()]


def moved(before, net):
    return all(not torch.equal(a, b) for a, b in zip(before, net.parameters()) if a.numel() > 1)


# ------------------------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def mnist_pairs():
    return {p: load_dataset(load_config({"data": {"name": "pair", "pair": p}, "train": {"steps": 1}}).data)
            for p in ("mnist-invert", "mnist-rot90", "mnist-edges")}


def test_known_translations_invert_and_rotate_back():
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    assert torch.equal(invert(invert(x)), x)
    assert torch.equal(rotate90(rotate90(rotate90(rotate90(x)))), x)
    assert torch.equal(rotate270(rotate90(x)), x)
    flat = torch.full((2, 1, 28, 28), 0.3)
    assert torch.allclose(sobel_edges(flat), torch.full_like(flat, -1.0))   # no edge: black
    step = torch.full((1, 1, 8, 8), -1.0)
    step[..., 4:] = 1.0                                                      # a full step: magnitude 4 -> white
    assert sobel_edges(step)[0, 0, 2, 3:5].tolist() == [1.0, 1.0]
    assert TRANSFORMS["edges"][1] is None


def test_builtin_pairs_are_disjoint_halves_with_t_on_the_test_split(mnist_pairs):
    for name, data in mnist_pairs.items():
        T, _ = TRANSFORMS[data.info["transform"]]
        ia, ib = data.info["train_index"]
        assert len(set(ia.tolist()) & set(ib.tolist())) == 0 and len(ia) == len(ib) == 30000
        assert data.train.shape == (30000, 2, 1, 28, 28) and data.train_labels.shape == (30000, 2)
        assert torch.equal(data.test[:, 1], T(data.test[:, 0])), name
        assert torch.equal(data.test_labels[:, 0], data.test_labels[:, 1])
    inv = mnist_pairs["mnist-invert"]
    assert torch.equal(invert(inv.test[:, 1]), inv.test[:, 0])
    rot = mnist_pairs["mnist-rot90"]
    assert torch.equal(rotate90(rotate90(rotate90(rot.test[:, 1]))), rot.test[:, 0])


def test_limit_keeps_disjoint_halves():
    data = load_dataset(load_config({"data": {"name": "pair", "pair": "mnist-invert", "limit": 50},
                                     "train": {"steps": 1}}).data)
    assert data.train.shape[:2] == (50, 2)


def test_mnist_fashion_pair_has_no_known_translation():
    try:
        data = load_dataset(load_config({"data": {"name": "pair", "pair": "mnist-fashion", "limit": 20},
                                         "train": {"steps": 1}}).data)
    except DataError as e:
        pytest.skip(f"Fashion-MNIST is not installed: {e}")
    assert data.info["transform"] is None and not data.info["paired_test"]
    assert data.info["classifiers"] == ("mnist", "fashion-mnist") and data.train.shape[1] == 2


@pytest.mark.parametrize("raw,needle", [
    ({"name": "pair", "pair": "mnist-inverted"}, "Did you mean 'mnist-invert'"),
    ({"name": "pair", "pair": "nope"}, "Built-in pairs: mnist-rot90"),
    ({"name": "pair"}, "needs two domains"),
    ({"domain_a": {"name": "folder", "root": "/tmp"}}, "only domain_a is set"),
    ({"name": "pair", "pair": "mnist-invert", "domain_a": {"name": "mnist"}}, "not both"),
    ({"domain_a": {"name": "pair", "pair": "mnist-invert"}, "domain_b": {"name": "mnist"}}, "single-domain"),
    ({"domain_a": {"name": "folder", "rot": "/tmp"}, "domain_b": {"name": "mnist"}}, "Did you mean 'root'"),
])
def test_bad_pair_configs_are_refused(raw, needle):
    with pytest.raises(ConfigError, match=needle):
        load_config({"data": raw, "train": {"steps": 1}})


def _folder(path, n, size, mode):
    path.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        shape = (size, size) if mode == "L" else (size, size, 3)
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(path / f"{i}.png")
    return str(path)


def test_two_folders_of_different_shapes_are_converted_or_refused(tmp_path):
    a = _folder(tmp_path / "A", 10, 16, "RGB")
    b = _folder(tmp_path / "B", 6, 8, "L")
    raw = {"domain_a": {"name": "folder", "root": a, "image_size": 16, "cache": False},
           "domain_b": {"name": "folder", "root": b, "image_size": 8, "channels": 1, "cache": False}}
    data = load_dataset(load_config({"data": raw, "train": {"steps": 1}}).data)
    assert data.kind == "pair" and data.sample_shape == (2, 3, 16, 16)
    assert len(data) == 9   # 10 - 1 held out: the shorter domain (5 training images) is cycled to 9
    with pytest.raises(DataError, match=r"domain_a \(3, 16, 16\) and domain_b \(1, 8, 8\)"):
        load_dataset(load_config({"data": {**raw, "mismatch": "error"}, "train": {"steps": 1}}).data)
    root = load_config({"data": {"name": "pair", "root": str(tmp_path), "image_size": 16}, "train": {"steps": 1}})
    assert load_dataset(root.data).sample_shape == (2, 3, 16, 16)


def test_missing_or_empty_domain_folder_is_named(tmp_path):
    a = _folder(tmp_path / "A", 4, 8, "L")
    (tmp_path / "empty").mkdir()
    for b, needle in ((str(tmp_path / "missing"), "does not exist"), (str(tmp_path / "empty"), "No images")):
        raw = {"domain_a": {"name": "folder", "root": a, "cache": False},
               "domain_b": {"name": "folder", "root": b, "cache": False}}
        with pytest.raises(DataError, match=needle) as e:
            load_dataset(load_config({"data": raw, "train": {"steps": 1}}).data)
        assert "data.domain_b.root" in str(e.value)


# ------------------------------------------------------------------------------------------- losses
def test_losses_against_hand_computed_values():
    real, fake = torch.tensor([[1.0, 3.0]]), torch.tensor([[0.5, -0.5]])
    assert losses.dualgan_critic_loss(real, fake).item() == pytest.approx(0.0 - 2.0)
    assert losses.dualgan_adversarial_loss(fake, torch.tensor([2.0])).item() == pytest.approx(-0.0 - 2.0)
    u, u_rec = torch.tensor([0.0, 1.0]), torch.tensor([0.5, 0.0])      # mean |.| = 0.75
    v, v_rec = torch.tensor([1.0, -1.0]), torch.tensor([1.0, 1.0])     # mean |.| = 1.0
    assert losses.reconstruction_loss(u, u_rec, v, v_rec, 10.0, 2.0).item() == pytest.approx(7.5 + 2.0)
    assert losses.least_squares_g_loss(torch.tensor([1.0, 3.0])).item() == pytest.approx(2.0)


def test_ssim_of_identical_images_is_one_and_noise_lowers_it():
    x = torch.rand(3, 1, 28, 28)
    assert torch.allclose(ssim(x, x), torch.ones(3))
    y = (x + 0.3 * torch.randn_like(x)).clamp(0, 1)
    s = ssim(x, y)
    assert (s < 0.9).all() and torch.allclose(s, ssim(y, x))


# ------------------------------------------------------------------------------------------- model
@pytest.mark.parametrize("objective,extra", [("paper", {}), ("released", {}), ("cyclegan", {}),
                                             ("paper", {"reconstruction": False})])
def test_every_network_steps_with_finite_losses(objective, extra):
    m = make(objective, n_critic=1, **extra)
    before = {k: snapshot(n) for k, n in m.nets.items()}
    out = m.train_step(Batch(tiny_pair().train[:8]), step=0)
    assert {"loss_d", "loss_g", "cycle_l1"} <= set(out)
    assert all(torch.isfinite(v).all() for v in out.values())
    for name, net in m.nets.items():
        assert moved(before[name], net), name
    if extra:
        assert out["loss_g"] == out["loss_adv"]


def test_a_warped_generator_trains_its_localisation_net():
    # the warp's last layer starts at zero, so the layers before it receive gradient from the second step on
    m = make("cyclegan", generator={**TINY_NETS["generator"], "warp": "rotation"})
    before = snapshot(m.nets["G_A"])
    for step in range(2):
        out = m.train_step(Batch(tiny_pair().train[:8]), step=step)
        assert all(torch.isfinite(v).all() for v in out.values())
    assert moved(before, m.nets["G_A"]) and any(n.startswith("warp.") for n, _ in m.nets["G_A"].named_parameters())


def test_paper_schedule_clips_the_critics_and_waits_n_critic_steps():
    m = make("paper")
    assert m.opts.n_critic == 2 and m.opts.clip == 0.01 and m.opts.lambda_u == 100
    g0 = snapshot(m.nets["G_A"])
    assert "loss_g" not in m.train_step(Batch(tiny_pair().train[:8]), 0)
    assert all(torch.equal(a, b) for a, b in zip(g0, m.nets["G_A"].parameters()))
    assert all(p.abs().max() <= 0.01 for n in ("D_A", "D_B") for p in m.nets[n].parameters())
    assert "loss_g" in m.train_step(Batch(tiny_pair().train[:8]), 1)


def test_released_objective_takes_two_generator_steps():
    m = make("released")
    assert (m.opts.lambda_u, m.opts.g_steps, m.opts.n_critic, m.opts.clip) == (20.0, 2, 1, 0.0)
    assert type(m.optimizers["G_A"]).__name__ == "RMSprop"
    m.train_step(Batch(tiny_pair().train[:8]), 0)
    assert m.optimizers["G_A"].state[next(m.nets["G_A"].parameters())]["step"] == 2
    assert make("cyclegan").opts.lambda_u == 10 and type(make("cyclegan").optimizers["D_A"]).__name__ == "Adam"


def test_bad_model_configs_are_refused():
    with pytest.raises(ConfigError, match="clip = 0.05"):
        load_config({"model": {"name": "dualgan", "objective": "cyclegan", "clip": 0.05}, "train": {"steps": 1}})
    with pytest.raises(ConfigError, match="do not fit"):
        cfg = load_config({"model": {"name": "dualgan"}, "train": {"steps": 1}})
        build_model(cfg.model, Dataset("tiny", "image", torch.zeros(4, 1, 28, 28)))
    with pytest.raises(ConfigError, match="do not fit"):   # a one-distribution GAN on two domains
        build_model(load_config({"model": {"name": "gan"}, "train": {"steps": 1}}).model, tiny_pair())
    with pytest.raises(ConfigError, match="depth"):
        cfg = load_config({"model": {"name": "dualgan", "generator": {"depth": 5}}, "train": {"steps": 1}})
        build_model(cfg.model, tiny_pair(size=16))


def test_translation_metrics_on_a_perfect_translator():
    data = tiny_pair()
    data.test[:, 1] = -data.test[:, 0]
    scores = translation_metrics(lambda x, d: -x, data)
    assert scores["a2b_mse"] == 0 and scores["b2a_ssim"] == pytest.approx(1.0)
    assert scores["a2b_cycle_l1"] == 0


def test_class_mapping_against_hand_computed_values():
    src = torch.tensor([0, 0, 1, 1])
    perm = class_mapping(src, torch.tensor([1, 1, 0, 0]), 2)     # a bijection between the label sets
    assert perm == {"class_nmi": pytest.approx(1.0), "class_map": 1.0}
    const = class_mapping(src, torch.tensor([1, 1, 1, 1]), 2)    # everything read as one class: deterministic, uninformative
    assert const == {"class_nmi": 0.0, "class_map": 1.0}
    indep = class_mapping(src, torch.tensor([0, 1, 0, 1]), 2)    # the class read is independent of the source
    assert indep["class_nmi"] == pytest.approx(0.0, abs=1e-12) and indep["class_map"] == 0.5
    # S = (0, 0, 0, 1), R = (0, 0, 1, 1): H(S) = h(1/4), H(R) = log 2, I = H(R) - H(R|S) = log 2 - 3/4 h(1/3)
    part = class_mapping(torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 1, 1]), 2)
    h = lambda q: -(q * math.log(q) + (1 - q) * math.log(1 - q))
    mi = math.log(2) - 0.75 * h(1 / 3)
    assert part["class_nmi"] == pytest.approx(2 * mi / (h(0.25) + math.log(2)))
    assert part["class_map"] == 0.75


def test_mnist_fashion_metrics_read_the_class_mapping():
    try:
        data = load_dataset(load_config({"data": {"name": "pair", "pair": "mnist-fashion", "limit": 20,
                                                  "test_limit": 200}, "train": {"steps": 1}}).data)
    except DataError as e:
        pytest.skip(f"Fashion-MNIST is not installed: {e}")
    scores = translation_metrics(lambda x, d: x, data)     # the identity: a digit read as a garment, and back
    for d in ("a2b", "b2a"):
        assert 0 <= scores[f"{d}_class_nmi"] <= 1 and 0 < scores[f"{d}_class_map"] <= 1
        assert f"{d}_mse" not in scores and f"{d}_label_acc" not in scores


# ------------------------------------------------------------------------------------------- runs
def run_config(steps=6, **train_opts):
    return {"model": {"name": "dualgan", **TINY_NETS},
            "data": {"name": "pair", "pair": "mnist-invert", "limit": 64, "test_limit": 200},
            "train": {"batch_size": 8, "steps": steps, "checkpoint_every": 3, "log_every": 3, "sample_every": 3,
                      "n_grid": 4, "progress": False, "tensorboard": False, "gif": False, **train_opts}}


def test_resume_reproduces_the_uninterrupted_run(tmp_path):
    cfg = run_config(steps=8)
    train(cfg, run_dir=tmp_path / "ref")
    train(run_config(steps=4), run_dir=tmp_path / "split")
    assert resume(tmp_path / "split", ["train.steps=8"]).step == 8
    a, b = (torch.load(tmp_path / r / "checkpoint.pt", weights_only=True)["model"]["nets"] for r in ("ref", "split"))
    for net in a:
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), (net, k)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("dualgan") / "run"
    train(run_config(), run_dir=d)
    return d


def test_run_writes_translation_figures(tiny_run):
    assert (tiny_run / "translate_a2b.png").exists() and (tiny_run / "translate_b2a.png").exists()


def test_translate_writes_the_files_it_promises(tiny_run, tmp_path):
    r = translate(tiny_run, "b2a", n=5, out=tmp_path / "held")
    assert sorted(p.name for p in (tmp_path / "held").iterdir()) == [f"{i:05d}.png" for i in range(5)] + ["grid.png"]
    img = np.asarray(Image.open(r["files"][0]))
    assert img.shape == (28, 28) and img.dtype == np.uint8
    grid = np.asarray(Image.open(r["grid"]))
    assert grid.shape[0] > grid.shape[1]   # 5 rows of input | translation | reconstruction
    src = _folder(tmp_path / "mine", 3, 40, "RGB")
    r = translate(tiny_run, "a2b", input=src, out=tmp_path / "out")
    assert [p.name for p in r["files"]] == ["00000_0.png", "00001_1.png", "00002_2.png"]
    assert main(["translate", str(tiny_run), "--direction", "a2b", "--n", "2", "--out", str(tmp_path / "cli")]) == 0
    assert len(list((tmp_path / "cli").glob("*.png"))) == 3
    with pytest.raises(GankitError, match="is the --input folder"):
        translate(tiny_run, "a2b", input=src, out=src)


def test_translate_refuses_a_single_domain_run(tmp_path, ring_config, capsys):
    train(ring_config(steps=2), run_dir=tmp_path / "ring")
    with pytest.raises(GankitError, match="two-domain run"):
        translate(tmp_path / "ring")
    assert main(["translate", str(tmp_path / "ring")]) == 2
    assert "two-domain" in capsys.readouterr().err


def test_eval_reports_translation_metrics(tiny_run):
    run = load_run(tiny_run)
    scores = run.model.extra_metrics(run.data)
    for d in ("a2b", "b2a"):
        for k in ("mse", "ssim", "label_acc", "label_flip", "cycle_l1", "fid", "kid"):
            assert f"{d}_{k}" in scores, (d, k)
    from gankit.run import evaluate

    result = evaluate(tiny_run, n=50, write=False)
    assert "a2b_mse" in result["metrics"] and result["floor"] == {}
