"""Mode metrics for the 2-D Gaussian-mixture toys (ring, grid), as in the PacGAN protocol (Lin et al. 2018,
sec. 5.1, after Unrolled GAN / VEEGAN): draw 2,500 samples, call a sample high-quality when it lies within
3 standard deviations of the nearest mode, and count a mode as covered when enough samples do. `modes` asks for
20 of the 2,500 samples; `modes_any` for one, the rule of PacGAN's released code (fjxmlzn/PacGAN,
pacgan/extensions.py: `mode_coverage = len(numpy.nonzero(detail_of_coverage)[0])`), which its tables report.

For the `lines` toy (disjoint segments; DMWGAN, Khayatkhoei et al. 2018, toy experiment) the analogue: a
sample is off-manifold when it lies farther than a tolerance from every segment (the samples "between the
manifolds" that DMWGAN shows a single connected generator cannot avoid), and each segment's generated mass
is compared with its true weight."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from ..errors import GankitError


def toy_mode_metrics(samples: Tensor, centers: Tensor, std: float, min_count: int = 20,
                     weights: Tensor | None = None) -> dict[str, float]:
    """modes covered, share of high-quality samples, and reverse KL(generated mode histogram || true).

    `min_count`: high-quality samples a mode needs to count as covered in `modes` (20 of 2,500 here: a mode
    held by a handful of stray samples is not covered). `modes_any`: modes with at least one, as PacGAN's code.
    The reverse KL is computed on the high-quality samples' mode histogram, with a tiny floor so that an
    empty generated bin contributes 0 and an empty true bin cannot occur.
    """
    samples, centers = samples.float().cpu(), centers.float().cpu()
    dist = torch.cdist(samples, centers)                       # (N, K)
    nearest_d, nearest = dist.min(1)
    good = nearest_d <= 3 * std
    counts = torch.bincount(nearest[good], minlength=centers.shape[0]).float()
    k = centers.shape[0]
    true = (weights.float().cpu() / weights.sum()) if weights is not None else torch.full((k,), 1.0 / k)
    q = counts / counts.sum() if counts.sum() > 0 else torch.zeros(k)
    mask = q > 0
    rkl = float((q[mask] * (q[mask] / true[mask]).log()).sum()) if mask.any() else math.inf
    return {"modes": int((counts >= min_count).sum()), "modes_any": int((counts >= 1).sum()), "n_modes": k,
            "high_quality": float(good.float().mean()), "reverse_kl": rkl}


LINES_DEFAULT_TOL = 0.05


def point_segment_distance(points: Tensor, segments: Tensor) -> Tensor:
    """(N, K) Euclidean distance from each of N points (N, D) to each of K segments (K, 2D) given as
    [start, end] (for D = 2: [x0, y0, x1, y1]): the distance to the closest point of the segment, i.e. to
    an endpoint when the perpendicular foot falls beyond it. A zero-length segment is its start point."""
    d = points.shape[1]
    start, end = segments[:, :d], segments[:, d:]                    # (K, D)
    v = end - start
    rel = points[:, None, :] - start[None]                           # (N, K, D)
    t = (rel * v).sum(-1) / (v * v).sum(-1).clamp_min(1e-30)         # projection parameter on the line
    foot = start[None] + t.clamp(0, 1)[..., None] * v[None]          # closest point on the segment
    return (points[:, None, :] - foot).norm(dim=-1)


def lines_metrics(samples: Tensor, segments: Tensor, weights: Tensor | None = None, tol: float | None = None,
                  std: float = 0.0) -> dict:
    """Share of off-manifold samples and each segment's generated mass against its true weight.

    A sample belongs to its nearest segment (point-to-segment distance) and is off-manifold when that
    distance is > `tol`. Default tol: 3 * `std` when the data's noise std > 0 (the 3-std rule of the ring and
    grid metrics; real data then scores ~0.3-1% off-manifold, the floor), else 0.05 (10% of the 0.5 gap
    between neighbouring DMWGAN segments). `weights`: the true segment weights (normalised; None = uniform).
    "mass" is the share of the on-manifold samples assigned to each segment; "total_variation" is
    0.5 * sum |mass - weight| (0 best, 1 worst; 1 when no sample is on the manifold, mass then all 0).
    Returns {"off_manifold", "mass", "true_weight", "total_variation", "tol", "n_segments"}.
    """
    if not isinstance(samples, Tensor) or samples.dim() != 2 or len(samples) == 0:
        shape = tuple(samples.shape) if isinstance(samples, Tensor) else type(samples).__name__
        raise GankitError(f"lines_metrics takes a non-empty (N, D) tensor of samples, got {shape}.")
    segments = torch.as_tensor(segments, dtype=torch.float64)
    if segments.dim() != 2 or len(segments) == 0 or segments.shape[1] != 2 * samples.shape[1]:
        raise GankitError(f"lines_metrics: segments must be (K, {2 * samples.shape[1]}) [start, end] rows "
                          f"(info['segments'] of the lines dataset), got shape {tuple(segments.shape)}.")
    k = len(segments)
    true = torch.full((k,), 1.0 / k, dtype=torch.float64) if weights is None else \
        torch.as_tensor(weights, dtype=torch.float64).flatten()
    if len(true) != k or (true < 0).any() or true.sum() <= 0:
        raise GankitError(f"lines_metrics: weights must be {k} non-negative numbers with a positive sum, "
                          f"got {true.tolist()}.")
    true = true / true.sum()
    if tol is None:
        tol = 3 * std if std > 0 else LINES_DEFAULT_TOL
    if tol <= 0:
        raise GankitError(f"lines_metrics: tol must be positive, got {tol}.")
    x = samples.detach().cpu().double()
    nearest_d, nearest = point_segment_distance(x, segments).min(1)
    on = nearest_d <= tol                         # NaN samples compare False: off-manifold
    counts = torch.bincount(nearest[on], minlength=k).double()
    mass = counts / counts.sum() if counts.sum() > 0 else torch.zeros(k, dtype=torch.float64)
    tv = float(0.5 * (mass - true).abs().sum()) if counts.sum() > 0 else 1.0
    return {"off_manifold": float((~on).double().mean()), "mass": mass.tolist(), "true_weight": true.tolist(),
            "total_variation": tv, "tol": float(tol), "n_segments": k}
