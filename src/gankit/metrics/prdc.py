"""Improved precision and recall (Kynkaanniemi et al. 2019) and density and coverage (Naeem et al. 2020).

All four compare sample sets through k-nearest-neighbour balls: each real sample x_i gets the ball of radius
NND_k(x_i), the distance to its k-th nearest other real sample (fake samples likewise for recall).

- precision = share of fake samples inside at least one real ball (k = 3)          -- quality
- recall    = share of real samples inside at least one fake ball (k = 3)          -- diversity
- density   = (1 / kM) sum_j #{i : y_j in B(x_i, NND_k(x_i))}   (k = 5)             -- quality, ~1 for equal
              distributions, can exceed 1 (e.g. (k+1)/k for a set against itself)
- coverage  = share of real samples whose ball holds at least one fake sample (k = 5) -- diversity

Balls are closed (distance <= radius), as in Kynkaanniemi et al. Distances are computed with torch.cdist in
chunks, so 10,000 x 10,000 sets need only a chunk x N block in memory at a time.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..errors import GankitError


def _as_matrix(x: Tensor, what: str) -> Tensor:
    if not isinstance(x, Tensor) or x.dim() < 2:
        raise GankitError(f"precision/recall: the {what} set must be a tensor of N samples (N, ...), got "
                          f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}.")
    return x.detach().reshape(x.shape[0], -1).float().cpu()


def knn_radii(x: Tensor, k: int | list[int], chunk: int = 1024) -> Tensor:
    """Distance from each row of `x` to its k-th nearest other row (the row itself is not counted).
    With a list of k: a (len(k), N) tensor, from one pass."""
    ks = [k] if isinstance(k, int) else list(k)
    out = []
    for i in range(0, len(x), chunk):
        d = torch.cdist(x[i:i + chunk], x)
        nearest = d.topk(max(ks) + 1, dim=1, largest=False).values       # column 0: the row itself, at 0
        out.append(nearest[:, ks].T)
    radii = torch.cat(out, dim=1)
    return radii[0] if isinstance(k, int) else radii


def prdc(real: Tensor, fake: Tensor, *, k_pr: int = 3, k_dc: int = 5, chunk: int = 1024) -> dict[str, float]:
    """precision, recall (k-NN radius `k_pr`), density and coverage (radius `k_dc`) of `fake` against `real`.

    Sets are (N, D) features or (N, ...) raw samples (flattened), with the same D. Each set needs more than
    max(k_pr, k_dc) samples; the papers use 10,000 (real) and 10,000 or 50,000 (fake).
    """
    real, fake = _as_matrix(real, "real"), _as_matrix(fake, "fake")
    if real.shape[1] != fake.shape[1]:
        raise GankitError(f"precision/recall: real samples have {real.shape[1]} features but fake samples have "
                          f"{fake.shape[1]}; extract both with the same feature extractor.")
    if k_pr < 1 or k_dc < 1:
        raise GankitError(f"precision/recall: k must be >= 1, got k_pr={k_pr}, k_dc={k_dc}.")
    k_max = max(k_pr, k_dc)
    if len(real) <= k_max or len(fake) <= k_pr:
        raise GankitError(f"precision/recall/density/coverage need more than k = {k_max} samples per set, got "
                          f"{len(real)} real and {len(fake)} fake; use thousands (10,000 is the usual number).")
    real_r_pr, real_r_dc = knn_radii(real, [k_pr, k_dc], chunk)
    fake_r_pr = knn_radii(fake, k_pr, chunk)

    precise = 0
    inside_dc = 0                                             # sum over fakes of #real balls holding them
    recalled = torch.zeros(len(real), dtype=torch.bool)
    nearest_fake = torch.full((len(real),), float("inf"))
    for i in range(0, len(fake), chunk):
        d = torch.cdist(fake[i:i + chunk], real)              # (chunk, N_real)
        precise += int((d <= real_r_pr).any(1).sum())
        inside_dc += int((d <= real_r_dc).sum())
        recalled |= (d <= fake_r_pr[i:i + chunk, None]).any(0)
        nearest_fake = torch.minimum(nearest_fake, d.min(0).values)
    return {"precision": precise / len(fake),
            "recall": int(recalled.sum()) / len(real),
            "density": inside_dc / (k_dc * len(fake)),
            "coverage": int((nearest_fake <= real_r_dc).sum()) / len(real)}
