"""Gradient penalties on the discriminator, as pure functions of a critic and points."""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor


def interpolate(real: Tensor, fake: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Gulrajani et al. 2017, Algorithm 1 line 6: x_hat = eps x + (1 - eps) x_fake, eps ~ U[0, 1] per sample."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, device=real.device, dtype=real.dtype, generator=generator)
    return eps * real + (1 - eps) * fake


def gradient_penalty(critic: Callable[[Tensor], Tensor], points: Tensor, target: float = 1.0,
                     one_sided: bool = False, scale: float = 1.0) -> Tensor:
    """Gulrajani et al. 2017, eq. 3 (penalty term): E[(||grad_x D(x_hat)||_2 - target)^2]; one-sided:
    E[max(0, ||grad|| - target)^2] (only norms above the target are penalised; Gulrajani et al. sec. 4 note,
    used by the DMWGAN release).

    The graph is kept (create_graph) so that the penalty trains the critic; weight it outside. `scale`: the
    fp16 loss scale; the scores are multiplied by it before differentiating (so the gradient does not
    underflow in half precision) and the gradient divided by it, in fp32, as PyTorch's AMP notes do.
    """
    points = points.detach().requires_grad_(True)
    scores = critic(points)
    (grad,) = torch.autograd.grad(scores.float().sum() * scale, points, create_graph=True)
    norms = (grad.float() / scale).flatten(1).norm(2, dim=1)
    excess = (norms - target).clamp_min(0) if one_sided else norms - target
    return (excess ** 2).mean()


def perturb(real: Tensor, c: float = 0.5, generator: torch.Generator | None = None,
            noise: str = "uniform") -> Tensor:
    """Points in a neighbourhood of the real data, x_hat = x + C * std(x) * delta, std over the whole batch,
    noise per element. "uniform": delta ~ U(0, 1), the DRAGAN reference code (Kodali et al. 2017), which
    perturbs every coordinate upwards only; "normal": delta ~ N(0, 1), the symmetric neighbourhood of the
    paper's penalty (sec. 4, x + delta with delta ~ N_d(0, cI))."""
    draw = torch.randn if noise == "normal" else torch.rand
    delta = draw(real.shape, device=real.device, dtype=real.dtype, generator=generator)
    return real + c * real.std() * delta


def historical_average_penalty(params: list[Tensor], averages: list[Tensor]) -> Tensor:
    """Salimans et al. 2016, sec. 3.3: ||theta - (1/t) sum_i theta[i]||^2 over all of a player's parameters."""
    return sum(((p - a) ** 2).sum() for p, a in zip(params, averages))
