"""Semi-supervised GAN losses (Salimans et al. 2016, sec. 5): D is a K-class classifier whose fake class
K+1 has its logit fixed at 0, so with Z(x) = sum_k exp(l_k(x)) the probability of "real" is
D(x) = Z(x) / (Z(x) + 1).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def log_d_real(logits: Tensor) -> Tensor:
    """log D(x) = lse(l) - softplus(lse(l)) (the fake logit is 0), per sample."""
    lse = torch.logsumexp(logits, dim=1)
    return lse - F.softplus(lse)


def log_d_fake(logits: Tensor) -> Tensor:
    """log(1 - D(x)) = -softplus(lse(l)), per sample."""
    return -F.softplus(torch.logsumexp(logits, dim=1))


def supervised_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Salimans et al. 2016, eq. 6 L_supervised = -E log p(y | x, y < K+1): cross-entropy over the K classes."""
    return F.cross_entropy(logits, labels)


def unsupervised_loss(logits_real: Tensor, logits_fake: Tensor) -> Tensor:
    """Salimans et al. 2016, eq. 6 L_unsupervised = -E log D(x) - E log(1 - D(G(z))), halved as in the
    authors' released code (each half weighs 0.5)."""
    return -0.5 * log_d_real(logits_real).mean() - 0.5 * log_d_fake(logits_fake).mean()
