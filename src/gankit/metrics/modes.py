"""Mode metrics for the 2-D Gaussian-mixture toys (ring, grid), as in the PacGAN protocol (Lin et al. 2018,
sec. 5.1, after Unrolled GAN / VEEGAN): draw 2,500 samples, call a sample high-quality when it lies within
3 standard deviations of the nearest mode, and count a mode as covered when enough samples do."""
from __future__ import annotations

import math

import torch
from torch import Tensor


def toy_mode_metrics(samples: Tensor, centers: Tensor, std: float, min_count: int = 20,
                     weights: Tensor | None = None) -> dict[str, float]:
    """modes covered, share of high-quality samples, and reverse KL(generated mode histogram || true).

    `min_count`: samples within 3 std a mode needs to count as covered (PacGAN uses 20 of 2,500).
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
    return {"modes": int((counts >= min_count).sum()), "n_modes": k,
            "high_quality": float(good.float().mean()), "reverse_kl": rkl}
