import pytest
import torch

from gankit.options import build_component
from gankit.data import load_dataset
from gankit.data.toy import GridOptions, LinesOptions, RingOptions
from gankit.errors import ConfigError

SMALL = {"n_train": 20000, "n_test": 2000}


def test_ring_shapes_and_modes():
    data = load_dataset(RingOptions(name="ring", **SMALL))
    assert data.kind == "points" and data.train.shape == (20000, 2) and data.test.shape == (2000, 2)
    assert data.train.dtype == torch.float32 and data.train_labels.dtype == torch.int64
    centers, std = data.info["centers"], data.info["std"]
    assert centers.shape == (8, 2) and torch.allclose(centers.norm(dim=1), torch.full((8,), 2.0))
    for x, y in ((data.train, data.train_labels), (data.test, data.test_labels)):
        assert (x - centers[y]).norm(dim=1).max() < 6 * std
        assert torch.equal(torch.cdist(x, centers).argmin(dim=1), y)
        assert y.bincount(minlength=8).min() > 0


def test_grid_modes():
    data = load_dataset(GridOptions(name="grid", **SMALL))
    centers = data.info["centers"]
    assert centers.shape == (25, 2)
    assert sorted(set(centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert (data.train - centers[data.train_labels]).norm(dim=1).max() < 6 * data.info["std"]
    assert data.train_labels.bincount(minlength=25).min() > 0 and data.n_classes == 25


def test_lines_points_lie_on_their_segment():
    data = load_dataset(LinesOptions(name="lines", **SMALL))
    seg = data.info["segments"][data.train_labels]
    a, b, x = seg[:, :2], seg[:, 2:], data.train
    t = ((x - a) * (b - a)).sum(1) / ((b - a) ** 2).sum(1)
    assert t.min() >= 0 and t.max() <= 1
    assert (a + t[:, None] * (b - a) - x).norm(dim=1).max() < 1e-5
    assert data.info["segments"].shape == (4, 4) and data.train_labels.bincount().min() > 0


@pytest.mark.parametrize("cls", [RingOptions, GridOptions, LinesOptions])
def test_seeded(cls):
    name = cls.__name__.removesuffix("Options").lower()
    a, b = (load_dataset(cls(name=name, **SMALL)) for _ in range(2))
    c = load_dataset(cls(name=name, seed=1, **SMALL))
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    assert not torch.equal(a.train, c.train)
    assert not torch.equal(a.train[:2000], a.test)  # train and test come from different streams


def test_test_set_independent_of_n_train():
    a = load_dataset(RingOptions(name="ring", n_train=100, n_test=50))
    b = load_dataset(RingOptions(name="ring", n_train=200, n_test=50))
    assert torch.equal(a.test, b.test)
    assert load_dataset(RingOptions(name="ring", n_train=100, n_test=0)).test is None


def test_unbalanced_weights():
    weights = [1, 1, 1, 1, 2, 2, 0, 0]
    data = load_dataset(RingOptions(name="ring", n_train=50000, weights=weights))
    share = data.train_labels.bincount(minlength=8) / 50000
    assert torch.allclose(share, torch.tensor(weights) / 8, atol=0.01)
    assert share[6] == 0 and torch.allclose(data.info["weights"].sum(), torch.tensor(1.0))

    lines = load_dataset(LinesOptions(name="lines", n_train=50000, weights=[3, 1, 0, 0]))
    assert abs((lines.train_labels == 0).float().mean() - 0.75) < 0.01


@pytest.mark.parametrize("weights", [[1, 1], [1] * 7 + [-1], [0] * 8])
def test_bad_weights_rejected(weights):
    with pytest.raises(ConfigError, match="weights"):
        load_dataset(RingOptions(name="ring", weights=weights))


def test_options_from_config():
    opts = build_component("dataset", {"name": "lines", "segments": [[0, 0, 1, 0], [0, 1, 1, 1]]}, "data")
    assert load_dataset(opts).info["segments"].shape == (2, 4)
    with pytest.raises(ConfigError, match="segments"):
        build_component("dataset", {"name": "lines", "segments": [[0, 0, 1]]}, "data")
