"""InfoGAN's evaluation (Chen et al. 2016, sec. 7.1): Q as a classifier of real test images, its categories
mapped to labels by the best one-to-one assignment (Hungarian); and the purity of generated samples of each
categorical value under the bundled classifier."""
from __future__ import annotations

import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from .counts import count_table


def hungarian_accuracy(pred: Tensor, labels: Tensor, n_pred: int, n_labels: int) -> tuple[float, list[int]]:
    """Accuracy of `pred` (cluster ids) after mapping clusters to labels one-to-one so as to maximise it;
    returns (accuracy, mapping[cluster] = label, -1 where a cluster gets none)."""
    confusion = count_table(pred, labels, n_pred, n_labels)
    rows, cols = linear_sum_assignment(confusion.numpy(), maximize=True)
    mapping = [-1] * n_pred
    for r, c in zip(rows, cols):
        mapping[r] = int(c)
    return float(confusion[rows, cols].sum()) / max(1, len(pred)), mapping


@torch.no_grad()
def q_accuracy(model, x: Tensor, y: Tensor, batch_size: int = 1000) -> float:
    """Hungarian-mapped accuracy of Q's first categorical code on real images (D and Q in eval mode)."""
    k = model.opts.categories[0]
    was = {n: net.training for n, net in model.nets.items()}
    model.train(False)
    try:
        pred = torch.cat([model.q_outputs(x[i:i + batch_size].to(model.device))[0][0].argmax(1).cpu()
                          for i in range(0, len(x), batch_size)])
    finally:
        for n, net in model.nets.items():
            net.train(was[n])
    n_labels = int(y.max()) + 1
    return hungarian_accuracy(pred, y, k, n_labels)[0]


@torch.no_grad()
def code_purity(model, extractor, n_per_value: int = 500, seed: int = 0) -> tuple[float, list[float]]:
    """For each value of the first categorical code: the share of its samples given the most common class
    by the bundled classifier. Returns (mean purity, purity per value)."""
    k = model.opts.categories[0]
    g = torch.Generator().manual_seed(seed)
    purities = []
    for value in range(k):
        cat = torch.zeros(n_per_value, len(model.opts.categories), dtype=torch.long)
        cat[:, 0] = value
        lat = model.codes_latent(n_per_value, cat=cat, generator=g)
        probs = extractor.probs(model.sample(**lat).cpu())
        counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1])
        purities.append(float(counts.max()) / n_per_value)
    return sum(purities) / k, purities


def infogan_metrics(model, data, extractor=None) -> dict[str, float]:
    """Both InfoGAN scores where they apply: Q accuracy needs labelled test data, purity a classifier."""
    out: dict[str, float] = {}
    if not model.opts.categories:
        return out
    if data.test is not None and data.test_labels is not None:
        out["q_accuracy"] = q_accuracy(model, data.test, data.test_labels)
    if extractor is not None:
        out["code_purity"] = code_purity(model, extractor)[0]
    return out
