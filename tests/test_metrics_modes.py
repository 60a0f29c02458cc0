import math

import pytest
import torch

from gankit.metrics.modes import toy_mode_metrics

CENTERS = torch.tensor([[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [0.0, -2.0]])


def test_all_modes_evenly_covered():
    x = CENTERS.repeat_interleave(50, 0) + 0.01 * torch.randn(200, 2)
    m = toy_mode_metrics(x, CENTERS, std=0.02)
    assert m["modes"] == 4 and m["high_quality"] == 1.0 and m["reverse_kl"] == pytest.approx(0.0, abs=1e-9)


def test_collapse_to_one_mode_and_off_manifold_samples():
    x = torch.cat([CENTERS[:1].repeat(75, 1), torch.zeros(25, 2)])       # 25 samples at the origin: bad
    m = toy_mode_metrics(x, CENTERS, std=0.02)
    assert m["modes"] == 1 and m["high_quality"] == pytest.approx(0.75)
    assert m["reverse_kl"] == pytest.approx(math.log(4))                   # KL(delta || uniform of 4)


def test_min_count_threshold():
    x = torch.cat([CENTERS[:1].repeat(30, 1), CENTERS[1:2].repeat(10, 1)])
    assert toy_mode_metrics(x, CENTERS, std=0.02, min_count=20)["modes"] == 1
    assert toy_mode_metrics(x, CENTERS, std=0.02, min_count=5)["modes"] == 2


def test_three_std_boundary():
    x = CENTERS[:1] + torch.tensor([[0.059, 0.0], [0.061, 0.0]])
    assert toy_mode_metrics(x, CENTERS, std=0.02, min_count=1)["high_quality"] == 0.5


def test_modes_any_is_the_released_pacgan_codes_count():
    """PacGAN's code counts a mode with a single high-quality sample; `modes` asks for min_count of them."""
    x = torch.cat([CENTERS[0].repeat(30, 1), CENTERS[1].repeat(3, 1), torch.full((5, 2), 50.0)])
    m = toy_mode_metrics(x, CENTERS, std=0.02, min_count=20)
    assert (m["modes"], m["modes_any"]) == (1, 2)
