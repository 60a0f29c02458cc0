"""What every network family provides, so models can build any of them by name.

A network family is a class registered with `@register("net", NAME, OptionsCls)` that has two
class methods:

    generator(opts, in_dim, out_shape, data_kind) -> nn.Module
        maps (B, in_dim) noise (+ codes) to (B, *out_shape); output in [-1, 1] (tanh) for images,
        unbounded for points, unless opts.out_activation says otherwise.
    discriminator(opts, in_shape, out_dim, data_kind) -> Discriminator
        maps (B, *in_shape) to (B, out_dim) raw scores (logits / critic values).

A Discriminator splits into a body (`features`, the last hidden layer: used by feature matching and by
heads such as InfoGAN's Q that share the body) and a linear `head`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from ..options import Options, opt

Norm = Literal["none", "batch", "layer", "spectral"]
Activation = Literal["relu", "leaky_relu", "elu", "tanh", "softplus", "gelu"]


@dataclass
class NetOptions(Options):
    """Options shared by every network family."""

    norm: Norm = opt("none", "normalization of hidden layers: none, batch, layer or spectral")
    activation: Activation = opt("relu", "hidden activation")
    out_activation: Literal["auto", "tanh", "sigmoid", "none"] = opt(
        "auto", "generator output: auto = tanh for images, none for points")


class Discriminator(nn.Module):
    """body -> features (B, feature_dim) -> head -> (B, out_dim)."""

    feature_dim: int
    head: nn.Module

    def features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
