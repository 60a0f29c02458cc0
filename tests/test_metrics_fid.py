import math

import pytest
import torch

from gankit.errors import GankitError
from gankit.metrics.fid import classifier_score, fid, kid


def gaussian(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def test_fid_of_a_set_against_itself_is_zero():
    x = gaussian(2000, 16, 0) * 3 + 5
    assert abs(fid(x, x)) < 1e-6


def test_fid_grows_monotonically_with_noise():
    real = gaussian(3000, 16, 0)
    noise = gaussian(3000, 16, 1)
    values = [fid(real, real + s * noise) for s in (0.0, 0.1, 0.3, 1.0, 3.0)]
    assert abs(values[0]) < 1e-6
    assert all(a < b for a, b in zip(values, values[1:])), values


def test_fid_matches_closed_form_for_diagonal_gaussians():
    d, n = 8, 50_000
    mu1, mu2 = torch.zeros(d), torch.linspace(-1, 1, d)
    s1, s2 = torch.linspace(0.5, 2.0, d), torch.linspace(2.0, 0.2, d)     # variances
    x = gaussian(n, d, 0) * s1.sqrt() + mu1
    y = gaussian(n, d, 1) * s2.sqrt() + mu2
    exact = float((mu1 - mu2).square().sum() + (s1 + s2 - 2 * (s1 * s2).sqrt()).sum())
    assert fid(x, y) == pytest.approx(exact, rel=0.02, abs=0.02)


def test_fid_needs_enough_samples_and_matching_dims():
    with pytest.raises(GankitError, match=r"at least 17 samples.*10,000"):
        fid(gaussian(10, 16, 0), gaussian(500, 16, 1))
    with pytest.raises(GankitError, match="at least 2"):
        fid(gaussian(1, 1, 0), gaussian(1, 1, 1))
    with pytest.raises(GankitError, match="16-d but fake features are 8-d"):
        fid(gaussian(100, 16, 0), gaussian(100, 8, 1))
    with pytest.raises(GankitError, match="NaN or inf"):
        fid(gaussian(100, 4, 0), torch.full((100, 4), float("nan")))
    with pytest.raises(GankitError, match="KID needs at least 2"):
        kid(gaussian(1, 4, 0), gaussian(50, 4, 1))


def test_kid_near_zero_for_identical_sets_and_growing_with_noise():
    real = gaussian(600, 16, 0)
    noise = gaussian(600, 16, 1)
    results = [kid(real, real + s * noise, subsets=10, subset_size=300) for s in (0.0, 0.5, 1.0, 3.0)]
    means = [m for m, _ in results]
    # a set against itself: slightly negative, O(k(x,x) / subset_size), since the unbiased estimate leaves
    # out the (x_i, x_i) pairs within a set but not across sets
    assert abs(means[0]) < 0.05 and results[0][1] >= 0
    assert all(a < b for a, b in zip(means, means[1:])), means
    same_distribution = kid(real, gaussian(600, 16, 2), subsets=10, subset_size=300)[0]
    assert abs(same_distribution) < 0.05 < means[2]
    assert kid(real, real, subsets=5, subset_size=300) == kid(real, real, subsets=5, subset_size=300)  # seeded


def test_kid_caps_subset_size_at_sample_count():
    mean, std = kid(gaussian(50, 4, 0), gaussian(40, 4, 1) + 2, subsets=3)   # default subset_size 1000
    assert mean > 0 and math.isfinite(std)


def test_classifier_score_bounds():
    k = 10
    confident_uniform = torch.eye(k).repeat(30, 1)                  # each class equally often, prob 1
    assert classifier_score(confident_uniform)[0] == pytest.approx(k)
    mean, std = classifier_score(confident_uniform, splits=3)       # splits of 100: still balanced
    assert mean == pytest.approx(k) and std == pytest.approx(0, abs=1e-9)
    one_class = torch.zeros(100, k)
    one_class[:, 3] = 1
    assert classifier_score(one_class)[0] == pytest.approx(1.0)
    assert classifier_score(torch.full((50, k), 1 / k))[0] == pytest.approx(1.0)   # unsure predictions
    with pytest.raises(GankitError, match="splits"):
        classifier_score(confident_uniform, splits=1000)
