import pytest
import torch

from gankit.errors import GankitError
from gankit.metrics.prdc import knn_radii, prdc

CENTERS = torch.tensor([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0], [100.0, 100.0]])


def lattice(center: torch.Tensor, offset: float = 0.0) -> torch.Tensor:
    """A 5x5 grid of spacing 1 around `center`, shifted by `offset` along both axes."""
    g = torch.arange(5.0) - 2
    return torch.cartesian_prod(g, g) + center + offset


def test_knn_radii_on_a_line():
    x = torch.tensor([[0.0], [1.0], [3.0], [6.0]])
    assert knn_radii(x, 1).tolist() == [1.0, 1.0, 2.0, 3.0]
    assert knn_radii(x, [1, 2], chunk=2).tolist() == [[1.0, 1.0, 2.0, 3.0], [3.0, 2.0, 3.0, 5.0]]


def test_identical_sets():
    x = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    r = prdc(x, x.clone(), chunk=128)
    assert r["precision"] == r["recall"] == r["coverage"] == 1.0
    # each fake sample lies in its own ball and its k neighbours' balls: density (k+1)/k
    assert r["density"] == pytest.approx(6 / 5, abs=0.01)


def test_independent_samples_of_one_distribution():
    gen = torch.Generator().manual_seed(0)
    r = prdc(torch.randn(2000, 4, generator=gen), torch.randn(2000, 4, generator=gen))
    assert r["density"] == pytest.approx(1.0, abs=0.1)
    assert min(r["precision"], r["recall"], r["coverage"]) > 0.85


def test_disjoint_far_apart_sets():
    real = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))
    r = prdc(real, real + 1000.0)
    assert r == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_half_the_modes():
    real = torch.cat([lattice(c) for c in CENTERS])                  # 4 modes
    fake = torch.cat([lattice(c, offset=0.1) for c in CENTERS[:2]])  # 2 of them, slightly shifted
    r = prdc(real, fake)
    assert r["precision"] == 1.0 and r["recall"] == 0.5 and r["coverage"] == 0.5
    assert r["density"] > 0.5


def test_flattens_images_and_checks_shapes():
    imgs = torch.rand(20, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    assert prdc(imgs, imgs)["precision"] == 1.0
    with pytest.raises(GankitError, match="16 features but fake samples have 8"):
        prdc(imgs, torch.rand(20, 8))
    with pytest.raises(GankitError, match="more than k = 5"):
        prdc(imgs[:5], imgs)
