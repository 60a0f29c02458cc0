import json

import pytest
import torch

from gankit.engine.api import train
from gankit.errors import GankitError
from gankit.run import evaluate, format_table


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    cfg = {"model": {"name": "gan", "z_dim": 8, "generator": {"name": "dcgan", "width": 4},
                     "discriminator": {"name": "dcgan", "width": 4}},
           "data": {"name": "mnist"},
           "train": {"steps": 2, "batch_size": 16, "progress": False, "tensorboard": False, "gif": False}}
    return train(cfg, run_dir=tmp_path_factory.mktemp("ev") / "run").run_dir


def test_image_run_gets_every_metric_and_its_floor(mnist_run):
    r = evaluate(mnist_run, n=300, device="cpu")
    for k in ("fid", "kid", "classifier_score", "precision", "recall", "density", "coverage", "inter_mode_jsd",
              "intra_mode_var", "sample_quality"):
        assert k in r["metrics"] and k in r["floor"]
    assert r["floor"]["fid"] < r["metrics"]["fid"]          # an untrained G is far from real data
    assert r["floor"]["classifier_score"] > 5                 # real digits: confident, all 10 classes
    saved = json.loads((mnist_run / "metrics.json").read_text())
    assert saved["metrics"]["fid"] == pytest.approx(r["metrics"]["fid"])
    assert "floor (test vs train)" in format_table(r)


def test_metric_selection_and_errors(mnist_run):
    r = evaluate(mnist_run, ["fid"], n=200, device="cpu", write=False)
    assert set(r["metrics"]) == {"fid"}
    with pytest.raises(GankitError, match="Unknown metric 'fdi'"):
        evaluate(mnist_run, ["fdi"], n=200)
    with pytest.raises(GankitError, match="does not apply"):
        evaluate(mnist_run, ["modes"], n=200)
    with pytest.raises(GankitError, match="at least 129 samples"):
        evaluate(mnist_run, ["fid"], n=50)


def test_toy_run_gets_mode_metrics(tmp_path, ring_config):
    d = train(ring_config(steps=3), run_dir=tmp_path / "r").run_dir
    r = evaluate(d, n=500, device="cpu")
    assert set(r["metrics"]) == {"modes", "modes_any", "n_modes", "high_quality", "reverse_kl"}
    assert r["floor"]["modes"] == 8 and r["floor"]["high_quality"] > 0.99
    with pytest.raises(GankitError, match="does not apply"):
        evaluate(d, ["fid"])


def test_lines_run_gets_off_manifold_metrics(tmp_path, ring_config):
    cfg = ring_config(steps=3)
    cfg["data"] = {"name": "lines", "n_train": 512, "n_test": 64}
    d = train(cfg, run_dir=tmp_path / "r").run_dir
    r = evaluate(d, n=500, device="cpu")
    assert set(r["metrics"]) == {"off_manifold", "mass_tv"}
    assert r["floor"]["off_manifold"] == 0.0 and r["floor"]["mass_tv"] < 0.1


def test_folder_run_without_classifier_gets_pixel_prdc_and_says_why(tmp_path):
    from PIL import Image

    root = tmp_path / "pics"
    root.mkdir()
    g = torch.Generator().manual_seed(0)
    for i in range(40):
        arr = (torch.rand(8, 8, 3, generator=g) * 255).byte().numpy()
        Image.fromarray(arr).save(root / f"{i}.png")
    cfg = {"model": {"name": "gan", "z_dim": 4, "generator": {"name": "dcgan", "width": 4},
                     "discriminator": {"name": "dcgan", "width": 4}},
           "data": {"name": "folder", "root": str(root), "image_size": 8, "test_fraction": 0.25},
           "train": {"steps": 2, "batch_size": 8, "progress": False, "tensorboard": False, "gif": False}}
    d = train(cfg, run_dir=tmp_path / "run").run_dir
    r = evaluate(d, n=30, device="cpu")
    assert set(r["metrics"]) == {"precision", "recall", "density", "coverage"} and r["features"] == "raw pixels"
    with pytest.raises(GankitError, match="bundled classifier, which exists for mnist, fashion-mnist"):
        evaluate(d, ["fid"], n=30)
