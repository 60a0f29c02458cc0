"""Adversarial objectives on raw discriminator outputs (logits for GAN, critic values for WGAN).

Losses are means over the batch. Written with softplus so that they stay finite for any logit:
-log(sigmoid(l)) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def gan_d_loss(real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0) -> Tensor:
    """Goodfellow et al. 2014, eq. 1 (D side): -E[log D(x)] - E[log(1 - D(G(z)))].

    `real_target` < 1 gives one-sided label smoothing (Salimans et al. 2016, sec. 3.4): the real term
    becomes the cross-entropy against the soft target.
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_target))
    fake = F.softplus(fake_logits).mean()
    return real + fake


def gan_g_loss_minimax(fake_logits: Tensor) -> Tensor:
    """Goodfellow et al. 2014, eq. 1 (G side): minimise E[log(1 - D(G(z)))] (saturates early on)."""
    return -F.softplus(fake_logits).mean()


def gan_g_loss_nonsaturating(fake_logits: Tensor) -> Tensor:
    """Goodfellow et al. 2014, sec. 3 (the practical variant): minimise -E[log D(G(z))]."""
    return F.softplus(-fake_logits).mean()


def wasserstein_d_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Arjovsky et al. 2017, eq. 3 / Gulrajani et al. 2017, eq. 3 (critic side): E[D(G(z))] - E[D(x)]."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_g_loss(fake_scores: Tensor) -> Tensor:
    """Arjovsky et al. 2017, Algorithm 1 (generator side): minimise -E[D(G(z))]."""
    return -fake_scores.mean()


def lsgan_d_loss(real_scores: Tensor, fake_scores: Tensor, a: float, b: float) -> Tensor:
    """Mao et al. 2016, eq. 2 (D side): 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]."""
    return 0.5 * ((real_scores - b) ** 2).mean() + 0.5 * ((fake_scores - a) ** 2).mean()


def lsgan_g_loss(fake_scores: Tensor, c: float) -> Tensor:
    """Mao et al. 2016, eq. 2 (G side): 1/2 E[(D(G(z)) - c)^2]."""
    return 0.5 * ((fake_scores - c) ** 2).mean()


def ebgan_d_loss(real_energy: Tensor, fake_energy: Tensor, margin: float) -> Tensor:
    """Zhao et al. 2016, eq. 1: L_D = D(x) + [m - D(G(z))]^+ (energies are reconstruction errors)."""
    return real_energy.mean() + F.relu(margin - fake_energy).mean()


def ebgan_g_loss(fake_energy: Tensor) -> Tensor:
    """Zhao et al. 2016, eq. 2: L_G = D(G(z))."""
    return fake_energy.mean()


def pullaway_term(codes: Tensor) -> Tensor:
    """Zhao et al. 2016, eq. 5: PT = 1/(N(N-1)) sum_{i != j} (S_i . S_j / (|S_i| |S_j|))^2."""
    s = F.normalize(codes.flatten(1), dim=1)
    n = s.shape[0]
    cos2 = (s @ s.t()) ** 2
    return (cos2.sum() - cos2.diagonal().sum()) / (n * (n - 1))


def feature_matching_loss(real_features: Tensor, fake_features: Tensor, reduction: str = "sum") -> Tensor:
    """Salimans et al. 2016, sec. 3.1: ||E_x f(x) - E_z f(G(z))||_2^2 on D's last hidden layer.
    reduction="mean" divides by the number of features, as the authors' released MNIST code does."""
    sq = (real_features.mean(0) - fake_features.mean(0)) ** 2
    return sq.mean() if reduction == "mean" else sq.sum()
