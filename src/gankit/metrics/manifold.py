"""The evaluation metrics of DMWGAN (Khayatkhoei, Singh & Elgammal 2018, "Disconnected Manifold Learning for
Generative Adversarial Networks", sec. 3.2 and the MNIST / Face-MNIST experiments), computed with a classifier
trained on the real data (the bundled one, see classifier.py):

inter-mode variation: the Jensen-Shannon divergence between the class histogram of the generated samples
    (each sample counted for the classifier's argmax class) and the class histogram of real data; 0 when the
    generator distributes its samples over the classes exactly as the data does, at most log 2 (natural log).
intra-mode variation: for each class, the mean squared geodesic distance between pairs of that class's
    samples, geodesics being shortest paths on a k-nearest-neighbour graph (as in Isomap, Tenenbaum et al.
    2000) built on the given features; it measures the spread of each mode along its manifold.
sample quality: the share of generated samples the classifier labels with high confidence
    (max class probability >= a threshold).
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from ..errors import GankitError

ArrayLike = Union[Tensor, Sequence[float], np.ndarray]


def _histogram(h: ArrayLike, what: str) -> Tensor:
    t = torch.as_tensor(h, dtype=torch.float64).detach().cpu()
    if t.dim() != 1 or t.numel() == 0:
        raise GankitError(f"js_divergence: {what} must be a non-empty 1-D histogram, got shape {tuple(t.shape)}.")
    if not torch.isfinite(t).all() or (t < 0).any() or t.sum() <= 0:
        raise GankitError(f"js_divergence: {what} must hold finite, non-negative counts with a positive sum, "
                          f"got {t.tolist()}.")
    return t / t.sum()


def js_divergence(p: ArrayLike, q: ArrayLike) -> float:
    """Jensen-Shannon divergence, in nats (natural log), between two histograms over the same bins.

    JSD(p, q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2. The inputs are counts or probabilities
    (each is normalised to sum 1); empty bins are fine (0 log 0 = 0). Symmetric, 0 for identical histograms
    and log 2 ~ 0.693 for histograms with disjoint support. Divide by log 2 for bits.
    """
    p, q = _histogram(p, "p"), _histogram(q, "q")
    if p.shape != q.shape:
        raise GankitError(f"js_divergence: the histograms have {len(p)} and {len(q)} bins; they must share bins.")
    m = (p + q) / 2

    def kl(a: Tensor) -> float:                                  # a > 0 implies m > 0: no division by 0
        return float((torch.xlogy(a, a) - torch.xlogy(a, m)).sum())

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))                  # max: clip float round-off below 0


def _class_histogram(x: Tensor, n_classes: int, what: str, caller: str = "inter_mode_variation") -> Tensor:
    """Counts per class from (N,) integer labels or (N, K) class probabilities (argmax)."""
    if not isinstance(x, Tensor):
        x = torch.as_tensor(x)
    x = x.detach().cpu()
    if x.dim() == 2:
        if x.shape[1] != n_classes:
            raise GankitError(f"{caller}: the {what} probabilities have {x.shape[1]} columns but "
                              f"n_classes is {n_classes}; use the same classifier for both sets.")
        x = x.argmax(1)
    elif x.dim() != 1 or x.dtype.is_floating_point:
        raise GankitError(f"{caller}: the {what} set must be (N,) integer labels or (N, K) class "
                          f"probabilities, got a {x.dtype} tensor of shape {tuple(x.shape)}.")
    if x.numel() == 0:
        raise GankitError(f"{caller}: the {what} set is empty; pass at least one sample "
                          "(>= 10,000 for a stable histogram).")
    if x.min() < 0 or x.max() >= n_classes:
        raise GankitError(f"{caller}: the {what} labels must lie in [0, {n_classes}), got "
                          f"[{int(x.min())}, {int(x.max())}].")
    return torch.bincount(x.long(), minlength=n_classes).double()


def inter_mode_variation(fake_probs: Tensor, real_labels_or_probs: Tensor, n_classes: int) -> float:
    """JSD (nats, natural log; 0 best, log 2 worst) between the classifier's class histogram of generated
    samples (argmax of `fake_probs`, (N, K)) and the class histogram of real data, given either as (M,)
    integer labels (the true labels) or as (M, K) classifier probabilities (their argmax)."""
    if n_classes < 1:
        raise GankitError(f"inter_mode_variation: n_classes must be positive, got {n_classes}.")
    if not isinstance(fake_probs, Tensor) or fake_probs.dim() != 2:
        raise GankitError("inter_mode_variation takes (N, K) class probabilities of the generated samples "
                          "(FeatureExtractor.probs).")
    fake = _class_histogram(fake_probs, n_classes, "generated")
    real = _class_histogram(real_labels_or_probs, n_classes, "real")
    # DMWGAN sec. 3.2: inter-mode variation = JSD between generated and real class distributions.
    return js_divergence(fake, real)


def class_balance(fake_probs: Tensor, real_labels_or_probs: Tensor) -> dict[str, float]:
    """Class-level mode collapse, by the classifier's argmax: the smallest and largest share of generated
    samples any class gets (1/K each when balanced) and the total variation 0.5 sum_k |q_k - p_k| between the
    generated and the real class histograms (0 best, 1 worst)."""
    if not isinstance(fake_probs, Tensor) or fake_probs.dim() != 2:
        raise GankitError("class_balance takes (N, K) class probabilities of the generated samples.")
    k = fake_probs.shape[1]
    fake = _class_histogram(fake_probs, k, "generated", "class_balance")
    real = _class_histogram(real_labels_or_probs, k, "real", "class_balance")
    q, p = fake / fake.sum(), real / real.sum()
    return {"class_min_share": float(q.min()), "class_max_share": float(q.max()),
            "class_tv": float(0.5 * (q - p).abs().sum())}


def sample_quality(fake_probs: Tensor, threshold: float = 0.9) -> float:
    """Share of generated samples that the classifier labels with high confidence, i.e. whose maximum class
    probability is >= `threshold` (DMWGAN's sample-quality measure; 1 best)."""
    if not isinstance(fake_probs, Tensor) or fake_probs.dim() != 2 or fake_probs.numel() == 0:
        shape = tuple(fake_probs.shape) if isinstance(fake_probs, Tensor) else type(fake_probs).__name__
        raise GankitError(f"sample_quality takes a non-empty (N, K) tensor of class probabilities, got {shape}.")
    if not 0 < threshold <= 1:
        raise GankitError(f"sample_quality: threshold must be in (0, 1], got {threshold}.")
    # DMWGAN sec. 3.2: sample quality = share of samples classified with high confidence.
    p = fake_probs.detach().cpu()
    p = p if p.dtype.is_floating_point else p.double()
    # compared in the input's dtype, so that a float32 probability of exactly 0.9 counts for threshold 0.9
    return float((p.max(1).values >= threshold).double().mean())


def geodesic_distances(points: Tensor, k: int = 10) -> Tensor:
    """(n, n) float64 geodesic distances between the rows of `points` (n, D), as in Isomap: Dijkstra shortest
    paths on the symmetrised k-nearest-neighbour graph (an edge i-j when j is among i's k nearest
    neighbours or i among j's), weighted by Euclidean distance. Pairs in different connected components
    get inf. Needs 1 <= k < n. Cost ~ n^2 memory and n^2 log n time: keep n to a few thousand."""
    from scipy.sparse.csgraph import csgraph_from_dense, shortest_path

    x = _check_features(points, "geodesic_distances")
    n = len(x)
    if not 1 <= k < n:
        raise GankitError(f"geodesic_distances: k must satisfy 1 <= k < n (the number of points), got k={k} "
                          f"for n={n}; lower k or pass more points.")
    d = torch.cdist(x, x).numpy()
    np.fill_diagonal(d, np.inf)                                  # a point is not its own neighbour
    nbrs = np.argpartition(d, k - 1, axis=1)[:, :k]              # k nearest, in any order
    w = np.full((n, n), np.inf)
    rows = np.repeat(np.arange(n), k)
    w[rows, nbrs.ravel()] = d[rows, nbrs.ravel()]
    w = np.minimum(w, w.T)                                       # symmetrise: i~j if either is a kNN of the other
    graph = csgraph_from_dense(w, null_value=np.inf)             # inf = no edge; 0 (duplicate points) = an edge
    return torch.from_numpy(shortest_path(graph, method="D", directed=False))


def _check_features(features: Tensor, metric: str) -> Tensor:
    if not isinstance(features, Tensor) or features.dim() != 2 or features.numel() == 0:
        shape = tuple(features.shape) if isinstance(features, Tensor) else type(features).__name__
        raise GankitError(f"{metric} takes a non-empty (N, D) feature matrix, got {shape}. "
                          "Extract features first (FeatureExtractor.features).")
    x = features.detach().cpu().double()
    if not torch.isfinite(x).all():
        raise GankitError(f"{metric}: the features contain NaN or inf (did the generator diverge?).")
    return x


def intra_mode_variation(features: Tensor, labels: Tensor, k: int = 10, max_per_class: Optional[int] = 500,
                         seed: int = 0, skip_small: bool = False) -> dict:
    """Per-class mean squared geodesic distance between pairs of same-class samples (DMWGAN sec. 3.2).

    `features` (N, D) are the points (classifier features or raw samples), `labels` (N,) their classes
    (for generated samples: the classifier's argmax). Geodesics come from `geodesic_distances` (Isomap kNN
    graph with k neighbours) built on each class separately. Each of the n(n-1)/2 distinct pairs counts
    once; pairs that lie in different connected components of the kNN graph have no finite geodesic: they
    are left out of the mean and counted in "disconnected_pairs" (with "pairs" the total), never turned
    into inf. For speed, a class with more than `max_per_class` samples (None = no cap) is replaced by a
    random subset of that size, drawn with a torch generator seeded with `seed` (reproducible).

    A class needs more than k samples (after the cap). By default a smaller class is an error; with
    `skip_small=True` it is skipped and listed in "skipped_classes" (e.g. a collapsed generator's rare classes).

    Returns {"per_class": {label: value}, "mean": unweighted mean over the evaluated classes,
    "disconnected_pairs": int, "pairs": int, "skipped_classes": [labels], "k": k, "max_per_class": cap}.
    """
    x = _check_features(features, "intra_mode_variation")
    y = torch.as_tensor(labels).detach().cpu()
    if y.dim() != 1 or y.dtype.is_floating_point or len(y) != len(x):
        raise GankitError(f"intra_mode_variation: labels must be ({len(x)},) integers, one per feature row, "
                          f"got a {y.dtype} tensor of shape {tuple(y.shape)}.")
    if k < 1 or (max_per_class is not None and max_per_class <= k):
        raise GankitError(f"intra_mode_variation: need k >= 1 and max_per_class > k, got k={k}, "
                          f"max_per_class={max_per_class}.")
    g = torch.Generator().manual_seed(seed)
    out = {"per_class": {}, "disconnected_pairs": 0, "pairs": 0, "skipped_classes": [], "k": k,
           "max_per_class": max_per_class}
    small = [(int(c), int((y == c).sum())) for c in y.unique() if (y == c).sum() <= k]
    if small and not skip_small:
        raise GankitError(f"intra_mode_variation: with k={k} every class needs more than {k} samples, but "
                          f"(class, count) = {small} do not have them; lower k, pass more samples, or "
                          "set skip_small=True to leave those classes out (they are then listed).")
    for c in y.unique().tolist():
        idx = (y == c).nonzero().squeeze(1)
        if len(idx) <= k:
            out["skipped_classes"].append(int(c))
            continue
        if max_per_class is not None and len(idx) > max_per_class:
            idx = idx[torch.randperm(len(idx), generator=g)[:max_per_class]]
        d = geodesic_distances(x[idx], k)
        pairs = d[torch.triu_indices(len(idx), len(idx), 1).unbind()]
        finite = pairs[torch.isfinite(pairs)]
        out["pairs"] += len(pairs)
        out["disconnected_pairs"] += len(pairs) - len(finite)
        # DMWGAN sec. 3.2: intra-mode variation = mean squared geodesic (Isomap) distance within a class.
        out["per_class"][int(c)] = float((finite ** 2).mean())  # every component has > k points: never empty
    vals = list(out["per_class"].values())
    if not vals:
        raise GankitError(f"intra_mode_variation: no class has more than k={k} samples, so none can be "
                          "evaluated; lower k or pass more samples.")
    out["mean"] = sum(vals) / len(vals)
    return out
