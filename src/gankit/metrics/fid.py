"""FID, KID and the classifier score, on features from a `FeatureExtractor` (see classifier.py).

FID and KID are torchmetrics' `FrechetInceptionDistance` / `KernelInceptionDistance` with an identity module
as the "feature extractor": we feed them features that are already extracted (so real-data features can be
cached and one forward pass serves FID, KID, PRDC and the classifier score). FID is then computed by
torchmetrics in float64 from the feature sums: ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^1/2).
KID is torchmetrics' unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets.

The classifier score is the Inception Score formula exp(E_x KL(p(y|x) || p(y))) with the bundled classifier's
probabilities; it is written here because torchmetrics' InceptionScore takes logits and turns confident
(exactly 0) probabilities into NaN.
"""
from __future__ import annotations

import math
import warnings
from typing import Optional

import torch
from torch import Tensor, nn

from ..errors import GankitError
from .classifier import FeatureExtractor

RECOMMENDED_N = 10_000


class _Precomputed(nn.Identity):
    """Identity 'network' for torchmetrics: the inputs already are (N, D) features."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features    # read by torchmetrics instead of a dummy forward


def _check_pair(real: Tensor, fake: Tensor, metric: str) -> tuple[Tensor, Tensor]:
    for what, f in (("real", real), ("fake", fake)):
        if not isinstance(f, Tensor) or f.dim() != 2:
            shape = tuple(f.shape) if isinstance(f, Tensor) else type(f).__name__
            raise GankitError(f"{metric} takes (N, D) feature matrices; the {what} features have shape {shape}. "
                              "Extract features first (FeatureExtractor.features).")
    if real.shape[1] != fake.shape[1]:
        raise GankitError(f"{metric}: real features are {real.shape[1]}-d but fake features are {fake.shape[1]}-d; "
                          "extract both sets with the same feature extractor.")
    real, fake = real.detach().cpu().double(), fake.detach().cpu().double()
    for what, f in (("real", real), ("fake", fake)):
        if not torch.isfinite(f).all():
            raise GankitError(f"{metric}: the {what} features contain NaN or inf (did the generator diverge?); "
                              "check the samples, or evaluate an earlier checkpoint.")
    return real, fake


def fid(real: Tensor, fake: Tensor, *, min_samples: Optional[int] = None) -> float:
    """Frechet distance between Gaussians fitted to two (N, D) feature sets (lower is better, 0 = equal).

    Each set needs at least `min_samples` rows, by default D + 1 so that its D x D covariance can be of full
    rank. FID is biased upwards for small N (the bias shrinks like 1/N): compare models only at the same N,
    and use >= 10,000 samples per set for numbers comparable with the literature.
    """
    real, fake = _check_pair(real, fake, "FID")
    d = real.shape[1]
    need = max(2, d + 1 if min_samples is None else min_samples)
    if min(len(real), len(fake)) < need:
        raise GankitError(
            f"FID needs at least {need} samples per set for a stable {d}x{d} covariance (at least the feature "
            f"dimension + 1), got {len(real)} real and {len(fake)} fake. FID is biased upwards for small N: "
            f"use >= {RECOMMENDED_N:,} samples (e.g. --n {RECOMMENDED_N}) and compare runs at the same N.")
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(feature=_Precomputed(d))
    metric.update(real, real=True)
    metric.update(fake, real=False)
    return float(metric.compute())


def kid(real: Tensor, fake: Tensor, *, subsets: int = 100, subset_size: int = 1000, degree: int = 3,
        seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance: mean and std over `subsets` random subsets of the unbiased MMD^2 estimate
    with the polynomial kernel (x.y / d + 1)^degree. `subset_size` is capped at the smaller set's size.
    The subsets are drawn with the torch RNG seeded with `seed` (the global RNG state is restored), so the
    result is reproducible. KID is ~0 for two samples of one distribution; a set against itself gives a
    slightly negative value of order k(x, x) / subset_size, as the unbiased estimate leaves out the pairs
    (x_i, x_i) within a set but not across the sets."""
    real, fake = _check_pair(real, fake, "KID")
    n = min(len(real), len(fake))
    if n < 2:
        raise GankitError(f"KID needs at least 2 samples per set (an unbiased MMD estimate compares distinct "
                          f"pairs), got {len(real)} real and {len(fake)} fake; use >= 1,000.")
    if subsets < 1 or subset_size < 2:
        raise GankitError(f"KID needs subsets >= 1 and subset_size >= 2, got {subsets} and {subset_size}.")
    from torchmetrics.image.kid import KernelInceptionDistance

    with warnings.catch_warnings():     # "will save all extracted features in buffer": that is the point
        warnings.simplefilter("ignore", UserWarning)
        metric = KernelInceptionDistance(feature=_Precomputed(real.shape[1]), subsets=subsets,
                                         subset_size=min(subset_size, n), degree=degree)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    with torch.random.fork_rng(devices=[]):   # torchmetrics draws subsets with the global RNG
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def classifier_score(probs: Tensor, splits: int = 1) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))): the Inception Score with our classifier's (N, K) class probabilities.

    Between 1 (every sample gets the same prediction) and K (confident predictions, uniform over the K
    classes). With `splits` > 1 the samples are cut (in order) into that many parts and the mean and std of
    the per-part scores are returned; with 1 split the std is 0.
    """
    if not isinstance(probs, Tensor) or probs.dim() != 2:
        raise GankitError("classifier_score takes (N, K) class probabilities (FeatureExtractor.probs).")
    if splits < 1 or len(probs) < splits:
        raise GankitError(f"classifier_score: cannot cut {len(probs)} samples into {splits} splits; "
                          "use 1 <= splits <= N (10 splits of >= 1,000 samples is the usual protocol).")
    p = probs.detach().cpu().double()
    p = p / p.sum(1, keepdim=True)
    scores = []
    for part in p.tensor_split(splits):
        marginal = part.mean(0, keepdim=True)
        kl = (torch.xlogy(part, part) - torch.xlogy(part, marginal)).sum(1).mean()
        scores.append(math.exp(float(kl)))
    t = torch.tensor(scores, dtype=torch.float64)
    return float(t.mean()), (float(t.std(unbiased=False)) if splits > 1 else 0.0)


_REAL: dict[tuple, tuple[Tensor, Optional[Tensor]]] = {}


def real_features_and_probs(dataset_name: str, split: str, extractor: FeatureExtractor,
                            n: Optional[int] = None) -> tuple[Tensor, Optional[Tensor]]:
    """Features and class probabilities of the first `n` (default all) images of a dataset's "train" or
    "test" split, computed once per process and extractor (cached by `extractor.name`)."""
    if split not in ("train", "test"):
        raise GankitError(f"Unknown split {split!r}: use 'train' or 'test'.")
    key = (dataset_name, split, extractor.name, n)
    if key not in _REAL:
        from ..options import build_component
        from ..data import load_dataset

        data = load_dataset(build_component("dataset", {"name": dataset_name}, "data"))
        x = getattr(data, split)
        if x is None or data.kind != "image":
            raise GankitError(f"Dataset {dataset_name!r} has no {split} images to extract features from.")
        _REAL[key] = extractor.features_and_probs(x if n is None else x[:n])
    return _REAL[key]


def real_features(dataset_name: str, split: str, extractor: FeatureExtractor, n: Optional[int] = None) -> Tensor:
    """(N, D) features of real data, cached per process (see `real_features_and_probs`)."""
    return real_features_and_probs(dataset_name, split, extractor, n)[0]
