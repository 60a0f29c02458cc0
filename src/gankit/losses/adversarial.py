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
