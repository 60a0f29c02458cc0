import pytest
import torch

from gankit.data import load_dataset
from gankit.data.toy import DMWGAN_SEGMENTS, LinesOptions
from gankit.errors import GankitError
from gankit.metrics.modes import lines_metrics, point_segment_distance

TWO = torch.tensor([[0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 1.0]])      # two horizontal unit segments


def test_point_segment_distance_inside_and_beyond_the_ends():
    seg = torch.tensor([[0.0, 0.0, 1.0, 0.0]])
    pts = torch.tensor([[0.5, 0.3], [0.5, -0.2], [2.0, 0.0], [-1.0, 0.0], [4.0, 4.0], [-3.0, -4.0], [1.0, 0.0]])
    d = point_segment_distance(pts, seg)[:, 0]
    # beyond an end the distance is to the endpoint, not to the infinite line (which would give 0 and 4)
    assert d.tolist() == pytest.approx([0.3, 0.2, 1.0, 1.0, 5.0, 5.0, 0.0])


def test_point_segment_distance_shapes_and_degenerate_segment():
    segs = torch.tensor([[0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0]])    # the second is a single point
    d = point_segment_distance(torch.tensor([[1.0, 0.0], [2.0, 5.0]]), segs)
    assert d.shape == (2, 2)
    assert d.flatten().tolist() == pytest.approx([2 ** 0.5 / 2, 5 ** 0.5, 17 ** 0.5, 3.0])


def test_lines_metrics_hand_placed():
    x = torch.tensor([[0.2, 0.0], [0.5, 0.04], [1.03, 0.0],               # on segment 0 (last: beyond its end)
                      [0.7, 0.98],                                         # on segment 1
                      [0.5, 0.5], [3.0, 0.0]])                             # off: 0.5 and 2.0 from any segment
    m = lines_metrics(x, TWO, tol=0.05)
    assert m["off_manifold"] == pytest.approx(2 / 6)
    assert m["mass"] == pytest.approx([0.75, 0.25]) and m["true_weight"] == pytest.approx([0.5, 0.5])
    assert m["total_variation"] == pytest.approx(0.25) and m["n_segments"] == 2
    assert lines_metrics(x, TWO, weights=torch.tensor([3.0, 1.0]), tol=0.05)["total_variation"] == \
        pytest.approx(0.0, abs=1e-12)
    strict = lines_metrics(x, TWO, tol=0.035)                             # the sample 0.04 away is now off
    assert strict["off_manifold"] == pytest.approx(3 / 6) and strict["mass"] == pytest.approx([2 / 3, 1 / 3])


def test_lines_tolerance_default():
    x = torch.tensor([[0.5, 0.04], [0.5, 0.06]])
    assert lines_metrics(x, TWO)["tol"] == 0.05                          # std 0: fixed 0.05
    assert lines_metrics(x, TWO)["off_manifold"] == 0.5
    m = lines_metrics(x, TWO, std=0.01)                                   # std > 0: 3 std
    assert m["tol"] == pytest.approx(0.03) and m["off_manifold"] == 1.0


def test_lines_all_off_manifold():
    m = lines_metrics(torch.tensor([[5.0, 5.0]]), TWO)
    assert m["off_manifold"] == 1.0 and m["mass"] == [0.0, 0.0] and m["total_variation"] == 1.0


def test_lines_real_data_is_on_the_manifold():
    data = load_dataset(LinesOptions(name="lines", n_train=2000, n_test=0, weights=[3, 1, 0, 0]))
    m = lines_metrics(data.train, data.info["segments"], data.info["weights"], std=data.info["std"])
    assert m["off_manifold"] == 0.0 and m["mass"][2:] == [0.0, 0.0]
    assert m["total_variation"] < 0.05
    assert torch.allclose(data.info["segments"], torch.tensor(DMWGAN_SEGMENTS))


def test_lines_bad_input():
    with pytest.raises(GankitError, match="segments"):
        lines_metrics(torch.zeros(3, 2), torch.zeros(2, 3))
    with pytest.raises(GankitError, match="weights"):
        lines_metrics(torch.zeros(3, 2), TWO, weights=[1.0, 1.0, 1.0])
    with pytest.raises(GankitError, match="non-empty"):
        lines_metrics(torch.zeros(0, 2), TWO)
    with pytest.raises(GankitError, match="tol"):
        lines_metrics(torch.zeros(3, 2), TWO, tol=0.0)
