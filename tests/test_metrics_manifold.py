import math

import pytest
import torch

from gankit.errors import GankitError
from gankit.metrics.manifold import (class_balance, geodesic_distances, inter_mode_variation, intra_mode_variation,
                                     js_divergence, sample_quality)


# --- Jensen-Shannon divergence -------------------------------------------------------------------------

def test_jsd_identical_is_zero_and_counts_are_normalised():
    assert js_divergence([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == pytest.approx(0.0, abs=1e-12)
    assert js_divergence([2, 3, 5], torch.tensor([0.2, 0.3, 0.5])) == pytest.approx(0.0, abs=1e-12)


def test_jsd_disjoint_is_log2():
    assert js_divergence([1, 1, 0, 0], [0, 0, 3, 1]) == pytest.approx(math.log(2))


def test_jsd_symmetric_and_hand_computed():
    p, q = [1.0, 0.0], [0.5, 0.5]
    # m = (0.75, 0.25): KL(p||m) = log(4/3), KL(q||m) = 0.5 log(2/3) + 0.5 log 2 = 0.5 log(4/3)
    assert js_divergence(p, q) == pytest.approx(0.75 * math.log(4 / 3))
    assert js_divergence(q, p) == pytest.approx(js_divergence(p, q))
    a, b = [0.1, 0.6, 0.3], [0.5, 0.25, 0.25]
    assert js_divergence(a, b) == pytest.approx(js_divergence(b, a))


@pytest.mark.parametrize("p, q", [([1, -1], [1, 1]), ([0, 0], [1, 1]), ([1, 2], [1, 2, 3]), ([], [])])
def test_jsd_bad_histograms(p, q):
    with pytest.raises(GankitError):
        js_divergence(p, q)


# --- inter-mode variation --------------------------------------------------------------------------------

def _one_hot_probs(classes, k, conf=0.97):
    p = torch.full((len(classes), k), (1 - conf) / (k - 1))
    p[torch.arange(len(classes)), torch.tensor(classes)] = conf
    return p


def test_inter_mode_variation_matching_histograms_is_zero():
    real = torch.tensor([0, 1, 2, 2, 1, 0, 2, 2])
    fake = _one_hot_probs([2, 2, 0, 1, 2, 1, 0, 2], 3)        # same histogram, other order
    assert inter_mode_variation(fake, real, 3) == pytest.approx(0.0, abs=1e-12)
    assert inter_mode_variation(fake, _one_hot_probs(real.tolist(), 3), 3) == pytest.approx(0.0, abs=1e-12)


def test_inter_mode_variation_collapse():
    fake = _one_hot_probs([0] * 10, 2)
    assert inter_mode_variation(fake, torch.tensor([1] * 5), 2) == pytest.approx(math.log(2))
    assert inter_mode_variation(fake, torch.tensor([0, 1]), 2) == pytest.approx(0.75 * math.log(4 / 3))


def test_inter_mode_variation_bad_input():
    with pytest.raises(GankitError, match="n_classes"):
        inter_mode_variation(_one_hot_probs([0, 1], 2), torch.tensor([0, 1]), 3)
    with pytest.raises(GankitError, match=r"\[0, 2\)"):
        inter_mode_variation(_one_hot_probs([0, 1], 2), torch.tensor([0, 5]), 2)
    with pytest.raises(GankitError, match="empty"):
        inter_mode_variation(_one_hot_probs([0, 1], 2), torch.tensor([], dtype=torch.long), 2)


# --- sample quality ----------------------------------------------------------------------------------------

def test_sample_quality_hand_made():
    p = torch.tensor([[0.95, 0.05], [0.5, 0.5], [0.9, 0.1], [0.2, 0.8]])   # 0.9 counts (>=), float32 too
    assert sample_quality(p) == pytest.approx(0.5)
    assert sample_quality(p, threshold=0.8) == pytest.approx(0.75)
    assert sample_quality(p, threshold=0.5) == 1.0
    with pytest.raises(GankitError):
        sample_quality(torch.zeros(0, 2))
    with pytest.raises(GankitError):
        sample_quality(p, threshold=0.0)


# --- geodesics and intra-mode variation -----------------------------------------------------------------

def _arc(n=200, end_angle=1.5 * math.pi, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.cat([torch.zeros(1), torch.rand(n - 2, generator=g) * end_angle, torch.tensor([end_angle])])
    return torch.stack([a.cos(), a.sin()], 1).double()


def test_geodesic_on_three_quarter_circle_matches_arc_length():
    x = _arc()                                           # radius 1, angles 0 .. 3 pi / 2; x[0], x[-1] endpoints
    geo = float(geodesic_distances(x, k=8)[0, -1])
    arc, chord = 1.5 * math.pi, math.sqrt(2)
    assert geo == pytest.approx(arc, rel=0.02)
    assert float((x[0] - x[-1]).norm()) == pytest.approx(chord)    # the Euclidean distance is far off
    assert abs(chord - arc) / arc > 0.5


def test_intra_mode_variation_on_a_straight_segment_is_mean_squared_distance():
    g = torch.Generator().manual_seed(1)
    t = torch.rand(60, generator=g).double()
    x = torch.tensor([[0.3, -1.0]]) + t[:, None] * torch.tensor([[0.6, 0.8]], dtype=torch.float64)  # unit dir.
    out = intra_mode_variation(x, torch.zeros(60, dtype=torch.long), k=8)
    i, j = torch.triu_indices(60, 60, 1)
    expected = float(((t[i] - t[j]) ** 2).mean())
    assert out["per_class"][0] == pytest.approx(expected, rel=1e-9)
    assert out["mean"] == out["per_class"][0]
    assert out["disconnected_pairs"] == 0 and out["pairs"] == 60 * 59 // 2


def test_intra_mode_variation_per_class_and_mean():
    line = torch.linspace(0, 1, 11, dtype=torch.float64)[:, None] * torch.tensor([[1.0, 0.0]])  # spacing 0.1
    x = torch.cat([line, 2 * line + 5])                                         # class 1: twice as long
    y = torch.tensor([0] * 11 + [1] * 11)
    out = intra_mode_variation(x, y, k=2)
    i, j = torch.triu_indices(11, 11, 1)
    base = float(((line[i, 0] - line[j, 0]) ** 2).mean())
    assert out["per_class"][0] == pytest.approx(base, rel=1e-9)
    assert out["per_class"][1] == pytest.approx(4 * base, rel=1e-9)
    assert out["mean"] == pytest.approx(2.5 * base, rel=1e-9)


def test_disconnected_components_are_counted_not_inf():
    blob = torch.linspace(0, 1, 10, dtype=torch.float64)[:, None] * torch.tensor([[1.0, 0.0]])
    x = torch.cat([blob, blob + torch.tensor([100.0, 0.0])])                    # two far-apart pieces
    out = intra_mode_variation(x, torch.zeros(20, dtype=torch.long), k=3)
    assert out["pairs"] == 190 and out["disconnected_pairs"] == 100
    i, j = torch.triu_indices(10, 10, 1)
    assert out["per_class"][0] == pytest.approx(float(((blob[i, 0] - blob[j, 0]) ** 2).mean()), rel=1e-9)
    assert math.isinf(float(geodesic_distances(x, k=3)[0, 10]))


def test_cap_per_class_is_seeded():
    x = torch.randn(150, 3, generator=torch.Generator().manual_seed(2))
    y = torch.zeros(150, dtype=torch.long)
    a = intra_mode_variation(x, y, k=5, max_per_class=40, seed=3)
    assert a["pairs"] == 40 * 39 // 2
    assert a["mean"] == intra_mode_variation(x, y, k=5, max_per_class=40, seed=3)["mean"]


def test_intra_mode_variation_bad_input():
    x, y = torch.randn(12, 2), torch.tensor([0] * 10 + [1] * 2)
    with pytest.raises(GankitError, match="more than 3 samples"):
        intra_mode_variation(x, y, k=3)
    out = intra_mode_variation(x, y, k=3, skip_small=True)
    assert out["skipped_classes"] == [1] and list(out["per_class"]) == [0]
    with pytest.raises(GankitError, match="no class"):
        intra_mode_variation(x[10:], y[10:], k=3, skip_small=True)
    with pytest.raises(GankitError, match="labels"):
        intra_mode_variation(x, y[:5], k=3)
    with pytest.raises(GankitError, match="non-empty"):
        intra_mode_variation(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))
    with pytest.raises(GankitError, match="1 <= k < n"):
        geodesic_distances(x[:3], k=3)


def test_class_balance_by_hand():
    # generated argmax classes: 0, 0, 0, 1 (shares 0.75, 0.25, 0); real labels balanced over 3 classes
    fake = torch.tensor([[0.9, 0.1, 0.0], [0.6, 0.3, 0.1], [0.5, 0.2, 0.3], [0.1, 0.8, 0.1]])
    real = torch.tensor([0, 1, 2, 0, 1, 2])
    b = class_balance(fake, real)
    assert b["class_min_share"] == 0.0 and b["class_max_share"] == 0.75
    assert b["class_tv"] == pytest.approx(0.5 * (abs(0.75 - 1 / 3) + abs(0.25 - 1 / 3) + 1 / 3))


def test_class_balance_of_a_balanced_set_and_bad_input():
    probs = torch.eye(4).repeat(5, 1)
    b = class_balance(probs, torch.arange(4).repeat(3))
    assert b == {"class_min_share": 0.25, "class_max_share": 0.25, "class_tv": 0.0}
    with pytest.raises(GankitError, match="columns but n_classes is 4"):
        class_balance(probs, torch.rand(6, 3))
