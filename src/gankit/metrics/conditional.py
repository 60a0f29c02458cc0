"""Scores of class-conditional models (cgan, cvae, cvaegan), added to `gankit eval` next to FID/KID.

- discriminability (Bao et al. 2017, sec. 4.2): top-1 accuracy of the bundled classifier on samples generated
  for a requested class (real test images score the classifier's own accuracy, the ceiling);
- class-conditional FID: per class, generated samples of class k against real test images of class k, on the
  classifier's features (`cfid_K`), and their mean (`cfid_mean`);
- models with an encoder: reconstruction MSE of the test split (pixels in [0, 1]), FID of the reconstructions
  against real training images (`rec_fid`, the sharpness CVAE-GAN claims over a CVAE), and transfer accuracy:
  a test image encoded with its class and decoded with another, which the classifier must read as that other.
Classifier-based scores need a dataset with a bundled classifier (mnist, fashion-mnist); elsewhere only the
reconstruction MSE is given.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .fid import fid


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def class_samples(model, per_class: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """per_class samples of every class, and their requested classes."""
    y = torch.arange(model.n_classes).repeat_interleave(per_class)
    return model.sample(**model.class_latent(y, _generator(seed))).cpu(), y


def discriminability(probs: Tensor, requested: Tensor) -> float:
    """Share of samples the classifier assigns to the class they were generated for (Bao et al. 2017, sec. 4.2)."""
    return float((probs.argmax(1).cpu() == requested.cpu()).float().mean())


def per_class_fid(real_f: Tensor, real_y: Tensor, fake_f: Tensor, fake_y: Tensor, n_classes: int) -> dict[str, float]:
    """FID of each class's samples against the real images of that class; classes too small to fit a
    covariance (fewer samples than feature dimensions + 1) are left out."""
    out = {}
    need = real_f.shape[1] + 1
    for k in range(n_classes):
        r, f = real_f[real_y == k], fake_f[fake_y == k]
        if len(r) >= need and len(f) >= need:
            out[f"cfid_{k}"] = fid(r, f)
    if out:
        out = {"cfid_mean": sum(out.values()) / len(out), **out}
    return out


def transfer_targets(y: Tensor, n_classes: int, seed: int = 0) -> Tensor:
    """For each source class, another class drawn uniformly (never the source itself)."""
    shift = torch.randint(1, n_classes, y.shape, generator=_generator(seed))
    return (y + shift) % n_classes


def conditional_metrics(model, data, extractor=None, per_class: int = 1000, n_test: int = 5000,
                        seed: int = 0) -> dict[str, float]:
    out: dict[str, float] = {}
    test, test_y = data.test, data.test_labels
    has_test = test is not None and test_y is not None and len(test) > 0
    if extractor is not None:
        fake, fake_y = class_samples(model, per_class, seed)
        fake_f, fake_p = extractor.features_and_probs(fake)
        if fake_p is not None:
            out["discriminability"] = discriminability(fake_p, fake_y)
        if has_test:
            real_f, real_p = extractor.features_and_probs(test)
            if real_p is not None:
                out["discriminability_real"] = discriminability(real_p, test_y)
            out.update(per_class_fid(real_f, test_y, fake_f, fake_y, model.n_classes))
    if not (getattr(model, "has_encoder", False) and has_test):
        return out
    x, y = test[:n_test], test_y[:n_test]
    rec = model.reconstruct(x, y).cpu()
    out["rec_mse"] = float(((rec - x) / 2).pow(2).mean())     # [-1, 1] -> [0, 1] pixels
    if extractor is None:
        return out
    train_f = extractor.features(data.train[:len(x)])
    rec_f, _ = extractor.features_and_probs(rec)
    if len(rec_f) > rec_f.shape[1]:
        out["rec_fid"] = fid(train_f, rec_f)
    target = transfer_targets(y, model.n_classes, seed)
    moved = model.reconstruct(x, y, target).cpu()
    _, moved_p = extractor.features_and_probs(moved)
    if moved_p is not None:
        out["transfer_accuracy"] = discriminability(moved_p, target)
    return out
