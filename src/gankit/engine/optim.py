"""Optimizers and learning-rate schedules built from an OptimConfig."""
from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn

from ..config import OptimConfig
from ..errors import ConfigError


def make_optimizer(cfg: OptimConfig, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    params = list(params)
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
