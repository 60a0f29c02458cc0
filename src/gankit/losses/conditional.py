"""Losses of the conditional VAE / GAN family: CVAE (Sohn et al. 2015) and CVAE-GAN (Bao et al. 2017).

A squared norm ||a - b||^2 is summed over the feature (or pixel) dimensions and averaged over the batch, as
the paper writes it per sample; the weights lambda_1..4 of Bao et al. 2017 (sec. 3.5) multiply these.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _sq(a: Tensor) -> Tensor:
    """Per-sample squared L2 norm over every dimension but the first."""
    return a.flatten(1).pow(2).sum(1)


def kl_loss(mu: Tensor, logvar: Tensor) -> Tensor:
    """Bao et al. 2017, sec. 3.4, L_KL = 1/2 (mu^T mu + sum(exp(eps) - eps - 1)) with eps = log sigma^2:
    KL(q(z|x, c) || N(0, I)), summed over z, averaged over the batch."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1).mean()


def reconstruction_loss(x: Tensor, x_rec: Tensor) -> Tensor:
    """1/2 ||x - x'||^2 per sample, batch mean: the pixel term of L_G (Bao et al. 2017, sec. 3.4) and the
    Gaussian-decoder reconstruction term of a CVAE (Sohn et al. 2015, eq. 5, unit variance, up to a constant)."""
    return 0.5 * _sq(x - x_rec).mean()


def pairwise_feature_matching(x: Tensor, x_rec: Tensor, fd_real: Tensor, fd_rec: Tensor, fc_real: Tensor,
                              fc_rec: Tensor) -> Tensor:
    """Bao et al. 2017, sec. 3.4, L_G = 1/2 (||x - x'||^2 + ||f_D(x) - f_D(x')||^2 + ||f_C(x) - f_C(x')||^2)
    between real images x and their reconstructions x' = G(E(x, c), c), pair by pair."""
    return 0.5 * (_sq(x - x_rec) + _sq(fd_real - fd_rec) + _sq(fc_real - fc_rec)).mean()


def mean_feature_matching(f_real: Tensor, f_fake: Tensor) -> Tensor:
    """Bao et al. 2017, sec. 3.2, L_GD = 1/2 ||1/m sum_i f_D(x_i) - 1/m sum_i f_D(G(z_i))||^2: G matches the
    mean of D's features on real data instead of fooling D (the "asymmetric" generator objective)."""
    return 0.5 * (f_real.flatten(1).mean(0) - f_fake.flatten(1).mean(0)).pow(2).sum()


def class_means(features: Tensor, labels: Tensor, n_classes: int) -> tuple[Tensor, Tensor]:
    """(n_classes, F) mean feature of each class in the batch (0 where absent) and the (n_classes,) counts."""
    f = features.flatten(1)
    counts = torch.bincount(labels, minlength=n_classes).to(f.dtype)
    sums = f.new_zeros(n_classes, f.shape[1]).index_add(0, labels, f)
    return sums / counts.clamp(min=1)[:, None], counts


def update_class_centres(centres: Tensor, seen: Tensor, features: Tensor, labels: Tensor,
                         decay: float) -> tuple[Tensor, Tensor]:
    """Moving averages of the real per-class mean features f_C (Bao et al. 2017, sec. 3.3: "the feature
    center of each class ... updated with a moving average", since a minibatch holds few images of a class).

    centre_c <- decay * centre_c + (1 - decay) * mean_batch f_C(x | c) for the classes in the batch; a class
    seen for the first time takes its batch mean. Returns (new centres, new seen mask); pure (no in-place)."""
    means, counts = class_means(features.detach(), labels, centres.shape[0])
    present = counts > 0
    blended = torch.where(seen[:, None], decay * centres + (1 - decay) * means, means)
    return torch.where(present[:, None], blended, centres), seen | present


def class_mean_feature_matching(centres: Tensor, seen: Tensor, f_fake: Tensor, labels: Tensor) -> Tensor:
    """Bao et al. 2017, sec. 3.3, L_GC = 1/2 sum_c ||f_C^c - 1/m_c sum_i f_C(G(z_i, c))||^2: per class, the mean
    classifier feature of the fakes of class c against that class's (moving-average) real centre; summed over
    the classes present in the fake batch whose centre has been seen."""
    means, counts = class_means(f_fake, labels, centres.shape[0])
    use = (counts > 0) & seen
    diff = (means - centres.detach()).pow(2).sum(1)
    return 0.5 * (diff * use.to(diff.dtype)).sum()


def cvaegan_d_loss(real_logits: Tensor, rec_logits: Tensor, prior_logits: Tensor) -> Tensor:
    """Bao et al. 2017, sec. 3.5 (Algorithm 1): L_D = -(log D(x_r) + log(1 - D(x_f)) + log(1 - D(x_p))), real
    images against reconstructions and prior samples; each term a batch mean (softplus form, finite)."""
    return F.softplus(-real_logits).mean() + F.softplus(rec_logits).mean() + F.softplus(prior_logits).mean()


def classifier_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Bao et al. 2017, sec. 3.3, L_C = -E[log P(c | x_r)]: cross-entropy on real labelled images only."""
    return F.cross_entropy(logits, labels)
