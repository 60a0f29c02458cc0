import pytest
import torch

from gankit.engine.api import train
from gankit.errors import GankitError
from gankit.run import interpolate
from gankit.viz.traverse import interpolate_latents, lerp, slerp


def test_lerp_and_slerp_endpoints():
    a, b = torch.randn(3, 5), torch.randn(3, 5)
    t = torch.linspace(0, 1, 4)
    for f in (lerp, slerp):
        p = f(a, b, t)
        assert p.shape == (3, 4, 5)
        assert torch.allclose(p[:, 0], a, atol=1e-5) and torch.allclose(p[:, -1], b, atol=1e-5)


def test_slerp_keeps_the_norm_between_equal_norm_points():
    a = torch.tensor([[3.0, 0.0]])
    b = torch.tensor([[0.0, 3.0]])
    p = slerp(a, b, torch.linspace(0, 1, 7))
    assert torch.allclose(p.norm(dim=2), torch.full((1, 7), 3.0), atol=1e-5)
    assert lerp(a, b, torch.tensor([0.5])).norm() < 2.2          # the chord cuts inside


def test_interpolate_latents_walks_every_input():
    start = {"z": torch.zeros(2, 3), "c": torch.zeros(2, 1)}
    end = {"z": torch.ones(2, 3), "c": torch.ones(2, 1)}
    out = interpolate_latents(start, end, 5, "linear")
    assert out["z"].shape == (10, 3) and out["c"].shape == (10, 1)
    assert torch.allclose(out["c"][:5, 0], torch.linspace(0, 1, 5))


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("img") / "run"
    cfg = {"model": {"name": "gan", "z_dim": 8, "generator": {"name": "dcgan", "width": 4},
                     "discriminator": {"name": "dcgan", "width": 4}},
           "data": {"name": "mnist", "limit": 64},
           "train": {"steps": 2, "batch_size": 16, "progress": False, "tensorboard": False, "gif": False}}
    return train(cfg, run_dir=d).run_dir


def test_interpolation_picture(image_run, tmp_path):
    x = interpolate(image_run, pairs=3, steps=4, out=tmp_path / "i.png", device="cpu")
    assert x.shape == (12, 1, 28, 28) and (tmp_path / "i.png").stat().st_size > 0
    with pytest.raises(GankitError, match="steps at least 2"):
        interpolate(image_run, pairs=3, steps=1)


def test_interpolation_of_points_is_refused(tmp_path, ring_config):
    d = train(ring_config(steps=2), run_dir=tmp_path / "r").run_dir
    with pytest.raises(GankitError, match="2-D point data"):
        interpolate(d)
