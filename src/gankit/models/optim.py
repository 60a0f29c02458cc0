"""The options of one network's optimizer (OptimConfig), and the optimizers and learning-rate schedules
built from them. A model owns its optimizers, so they live with the models."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Literal, Optional

import torch
from torch import nn

from ..errors import ConfigError
from ..options import check_positive, opt


@dataclass
class OptimConfig:
    """Optimizer of one network, with its learning-rate schedule."""

    name: Literal["adam", "rmsprop", "sgd"] = opt("adam", "optimizer")
    lr: float = opt(2e-4, "learning rate")
    betas: tuple[float, float] = opt((0.5, 0.999), "Adam beta1, beta2")
    alpha: float = opt(0.99, "RMSprop smoothing constant")
    momentum: float = opt(0.0, "SGD/RMSprop momentum")
    eps: float = opt(1e-8, "numerical epsilon of Adam/RMSprop")
    eps_in_sqrt: bool = opt(False, "Adam: sqrt(v + eps) as the Theano Improved-GAN code, not sqrt(v) + eps")
    weight_decay: float = opt(0.0, "L2 weight decay")
    schedule: Literal["constant", "linear", "cosine", "step"] = opt(
        "constant", "learning-rate schedule over decay_steps optimizer steps")
    decay_steps: Optional[int] = opt(None, "schedule length in this optimizer's steps; None = whole run")
    decay_start: float = opt(0.0, "linear/cosine: fraction of the schedule held at the full rate before the decay "
                                  "(Improved-GAN's code: 2/3, constant for 200 of 300 epochs)")
    step_size: int = opt(10000, "'step' schedule: multiply lr by gamma every step_size steps")
    gamma: float = opt(0.5, "'step' schedule factor")

    def check(self, path: str) -> None:
        check_positive(self.lr, f"{path}.lr")
        if not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"{path}.betas must be two numbers in [0, 1), got {list(self.betas)}.")
        if self.decay_steps is not None:
            check_positive(self.decay_steps, f"{path}.decay_steps")
        if not 0.0 <= self.decay_start < 1.0:
            raise ConfigError(f"{path}.decay_start must be a fraction in [0, 1) of the schedule's length, got "
                              f"{self.decay_start!r}.")
        if self.decay_start and self.schedule not in ("linear", "cosine"):
            raise ConfigError(f"{path}.decay_start = {self.decay_start} holds the rate before a decay, but the "
                              f"schedule is {self.schedule!r}; set {path}.schedule to linear or cosine.")
        check_positive(self.step_size, f"{path}.step_size")


class AdamEpsInSqrt(torch.optim.Optimizer):
    """Adam with the denominator sqrt(v_hat + eps) instead of sqrt(v_hat) + eps: the form of the Theano code
    of Improved-GAN (openai/improved-gan nn.adam_updates). With eps = 1e-8 the update of a parameter whose
    gradients are below ~1e-4 shrinks in proportion to them, where torch's Adam still takes full steps."""

    def __init__(self, params, lr: float, betas: tuple[float, float], eps: float, weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad if not group["weight_decay"] else p.grad + group["weight_decay"] * p
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                st["step"] += 1
                t = st["step"]
                st["exp_avg"].lerp_(g, 1 - b1)
                st["exp_avg_sq"].mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (st["exp_avg_sq"] / (1 - b2 ** t)).add_(group["eps"]).sqrt_()
                p.addcdiv_(st["exp_avg"], denom, value=-group["lr"] / (1 - b1 ** t))


def make_optimizer(cfg: OptimConfig, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    params = list(params)
    if cfg.name == "adam" and cfg.eps_in_sqrt:
        return AdamEpsInSqrt(params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, weight_decay=cfg.weight_decay)
    # foreach kernels: one launch for all parameters (faster on CPU and GPU than a loop per tensor).
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps,
                                weight_decay=cfg.weight_decay, foreach=True)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps, momentum=cfg.momentum,
                                   weight_decay=cfg.weight_decay, foreach=True)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                           foreach=True)


def lr_factor(cfg: OptimConfig, step: int, horizon: int | None) -> float:
    """Multiplier of the base learning rate after `step` optimizer steps."""
    length = cfg.decay_steps or horizon
    if cfg.schedule == "constant":
        return 1.0
    if cfg.schedule == "step":
        return cfg.gamma ** (step // cfg.step_size)
    t = min(step / length, 1.0) if length else 0.0
    t = max(0.0, t - cfg.decay_start) / (1.0 - cfg.decay_start)   # held at 1 until decay_start, then decayed
    if cfg.schedule == "linear":          # linear decay to 0, as in WGAN-GP's reference code
        return 1.0 - t
    return 0.5 * (1.0 + math.cos(math.pi * t))   # cosine


def make_scheduler(cfg: OptimConfig, opt: torch.optim.Optimizer, horizon: int | None):
    if cfg.schedule == "constant":
        return None
    if cfg.schedule in ("linear", "cosine") and not (cfg.decay_steps or horizon):
        raise ConfigError(f"A {cfg.schedule!r} learning-rate schedule needs a length: the run's budget is "
                          "wall time only, so set decay_steps in the optimizer section (e.g. "
                          "model.optim_d.decay_steps=20000) or give train.steps / train.epochs.")
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(cfg, s, horizon))
