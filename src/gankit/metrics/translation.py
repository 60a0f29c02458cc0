"""Scores of an image-to-image translation model on a two-domain dataset (data/domains.py), per direction.

For a pair with a known translation T (paired test split: test[j] = (x_j, T(x_j))):
- `a2b_mse`, `a2b_ssim`: G_A(u) against T(u); `b2a_*`: G_B(T(x)) against x. Images in [0, 1]; SSIM is
  Wang et al. 2004 (eq. 13) with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, averaged over
  the valid positions, channels and images.
- `a2b_label_acc`: the source dataset's bundled classifier on T^-1(G_A(u)) against u's label (T^-1 exists
  for rotation and inversion, not for edges); `b2a_label_acc`: on G_B(T(x)) against x's label.
  `*_label_flip`: the share classified, with probability > 0.9, as another class than the label: a clean
  wrong digit (CycleGAN-style label flipping), not a blurred one.
Every pair: `*_cycle_l1` = mean |x - G_B(G_A(x))| (and b2a likewise) in [0, 1] units; where a bundled
classifier fits the target domain's images (1 x 28 x 28), `*_fid` / `*_kid`: translations against real
target-domain test images on that classifier's features (for T pairs: the source dataset's classifier).
For a pair with no known T whose two domains are labelled (mnist-fashion), how the target domain's classifier
reads the translations against their source labels (`class_mapping`): `*_class_nmi`, the normalised mutual
information between the source class and the class read (1: the translation maps classes to classes, 0: the
class read tells nothing of the source), and `*_class_map`, the share of translations read as their source
class's most common target class (1: a deterministic class-to-class map).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ..data.transforms import TRANSFORMS
from .classifier import IMAGE_SHAPE, ClassifierFeatures
from .counts import count_table
from .fid import fid, kid

FLIP_CONFIDENCE = 0.9


def _unit(x: Tensor) -> Tensor:
    return (x.float().cpu() + 1) / 2


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> Tensor:
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-r ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).float()


def ssim(x: Tensor, y: Tensor, data_range: float = 1.0, window: int = 11, sigma: float = 1.5) -> Tensor:
    """Per-image SSIM (N,) of two (N, C, H, W) image sets in [0, data_range] (Wang et al. 2004, eq. 13)."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim takes two (N, C, H, W) tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    window = min(window, x.shape[-1], x.shape[-2])
    c = x.shape[1]
    w = _gaussian_window(window, sigma).to(x.device).expand(c, 1, window, window)
    x, y = x.double(), y.double()
    w = w.double()
    blur = lambda t: F.conv2d(t, w, groups=c)   # noqa: E731  (valid positions only)
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return s.flatten(1).mean(1).float()


def _fits_classifier(x: Tensor) -> bool:
    return tuple(x.shape[1:]) == IMAGE_SHAPE


def label_scores(classifier: ClassifierFeatures, x: Tensor, labels: Tensor) -> dict[str, float]:
    probs = classifier.probs(x)
    conf, pred = probs.max(1)
    labels = labels.cpu()
    return {"label_acc": float((pred == labels).float().mean()),
            "label_flip": float(((pred != labels) & (conf > FLIP_CONFIDENCE)).float().mean())}


def class_mapping(source: Tensor, read: Tensor, n_classes: int) -> dict[str, float]:
    """`class_nmi` = 2 I(S; R) / (H(S) + H(R)) (the arithmetic normalisation; 0 when both are constant) and
    `class_map` = sum over source classes s of max_r N(s, r) / N, from the joint counts of source labels S
    and the classes R read on their translations."""
    joint = count_table(source, read, n_classes, n_classes, torch.float64)
    p = joint / joint.sum()
    ps, pr = p.sum(1), p.sum(0)
    nz = p > 0
    mi = float((p[nz] * (p[nz] / (ps[:, None] * pr[None, :])[nz]).log()).sum())
    h = float(-(ps[ps > 0] * ps[ps > 0].log()).sum() - (pr[pr > 0] * pr[pr > 0].log()).sum())
    return {"class_nmi": 2 * mi / h if h > 0 else 0.0, "class_map": float(joint.max(1).values.sum() / joint.sum())}


def translation_metrics(translate: Callable[[Tensor, str], Tensor], data, n: int | None = None) -> dict[str, float]:
    """The metrics above for `translate(images, direction)` on `data`'s test split (first n pairs)."""
    if data.test is None:
        return {}
    test = data.test[:n]
    labels = None if data.test_labels is None else data.test_labels[:n]
    info = data.info
    u, v = test[:, 0], test[:, 1]
    fake_v, fake_u = translate(u, "a2b"), translate(v, "b2a")
    rec_u, rec_v = translate(fake_v, "b2a"), translate(fake_u, "a2b")
    out = {"a2b_cycle_l1": float((_unit(rec_u) - _unit(u)).abs().mean()),
           "b2a_cycle_l1": float((_unit(rec_v) - _unit(v)).abs().mean())}
    if info.get("paired_test"):
        for d, fake, truth in (("a2b", fake_v, v), ("b2a", fake_u, u)):
            out[f"{d}_mse"] = float(((_unit(fake) - _unit(truth)) ** 2).mean())
            out[f"{d}_ssim"] = float(ssim(_unit(fake), _unit(truth)).mean())
    name_a, name_b = info.get("classifiers", (None, None))
    transform = info.get("transform")
    if labels is not None and transform is not None and name_a and _fits_classifier(u):
        clf = ClassifierFeatures(name_a)
        inverse = TRANSFORMS[transform][1]
        if inverse is not None:
            out.update({f"a2b_{k}": s for k, s in label_scores(clf, inverse(fake_v), labels[:, 0]).items()})
        out.update({f"b2a_{k}": s for k, s in label_scores(clf, fake_u, labels[:, 1]).items()})
    # no known T but labelled domains: the target classifier's reading of the translations, from the same pass
    # over the fakes as their FID features
    mapping = (labels is not None and transform is None and name_a and name_b
               and _fits_classifier(u) and _fits_classifier(v))
    for d, fake, real, name, src in (("a2b", fake_v, v, name_b, 0), ("b2a", fake_u, u, name_a, 1)):
        scored = name and _fits_classifier(real) and len(real) >= 2
        if not (scored or mapping):
            continue
        clf = ClassifierFeatures(name)
        fake_f, probs = clf.features_and_probs(fake)
        if mapping:
            n_classes = max(probs.shape[1], int(labels[:, src].max()) + 1)
            out.update({f"{d}_{k}": s for k, s in class_mapping(labels[:, src], probs.argmax(1), n_classes).items()})
        if scored:
            real_f = clf.features(real)
            if len(real_f) > real_f.shape[1]:
                out[f"{d}_fid"] = fid(real_f, fake_f)
            out[f"{d}_kid"] = kid(real_f, fake_f, subsets=20)[0]
    return out
