"""Losses of unpaired image-to-image translation (DualGAN, CycleGAN). Scores may be patch maps
(B, 1, h, w); every expectation is a mean over the batch and the patches."""
from __future__ import annotations

from torch import Tensor


def dualgan_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Yi et al. 2017, eqs. 1-2: l^d_A = D_A(G_A(u, z)) - D_A(v) (and l^d_B likewise), a Wasserstein critic."""
    return fake_scores.mean() - real_scores.mean()


def dualgan_adversarial_loss(fake_scores_a: Tensor, fake_scores_b: Tensor) -> Tensor:
    """Yi et al. 2017, eq. 3, adversarial part: -D_A(G_A(u, z)) - D_B(G_B(v, z')). (The paper prints
    -D_A(G_B(v)) - D_B(G_A(u)), which swaps the critics against eqs. 1-2: D_A judges domain V.)"""
    return -fake_scores_a.mean() - fake_scores_b.mean()


def reconstruction_loss(u: Tensor, u_rec: Tensor, v: Tensor, v_rec: Tensor, lambda_u: float,
                        lambda_v: float) -> Tensor:
    """Yi et al. 2017, eq. 3, reconstruction part: lambda_U ||u - G_B(G_A(u))||_1 + lambda_V ||v - G_A(G_B(v))||_1,
    each norm a mean over pixels as in the authors' code (reduce_mean); CycleGAN's cycle loss, Zhu et al.
    2017, eq. 2, is the same with lambda_U = lambda_V = lambda."""
    return lambda_u * (u - u_rec).abs().mean() + lambda_v * (v - v_rec).abs().mean()


def least_squares_g_loss(fake_scores: Tensor) -> Tensor:
    """Zhu et al. 2017, sec. 4 (the least-squares form of eq. 1): G minimises E[(D(G(x)) - 1)^2]."""
    return ((fake_scores - 1.0) ** 2).mean()
