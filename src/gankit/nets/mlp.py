"""Fully connected generator and discriminator, for points and for small images.

The networks of the original GAN (Goodfellow et al. 2014) and of most toy-data experiments (mixtures of
Gaussians in Unrolled GAN, VEEGAN, DMWGAN): a stack of Linear -> norm -> activation layers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..options import opt
from ..errors import ConfigError
from ..registry import register
from .base import Discriminator, NetOptions
from .layers import activation, maybe_spectral, needs_bias, norm_1d, output_activation


@dataclass
class MLPOptions(NetOptions):
    """Options of the `mlp` family."""

    hidden: list[int] = opt([256, 256], "hidden layer widths, input side first")
    dropout: float = opt(0.0, "discriminator only: dropout after each hidden layer, in [0, 1)")

    def check(self, path: str) -> None:
        super().check(path)
        if not self.hidden:
            raise ConfigError(f"{path}.hidden must list at least one layer width, e.g. [256, 256].")
        for i, w in enumerate(self.hidden):
            if w <= 0:
                raise ConfigError(f"{path}.hidden[{i}] must be a positive width, got {w!r}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"{path}.dropout must be in [0, 1), got {self.dropout!r}.")


def _hidden_stack(n_in: int, opts: MLPOptions, dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in opts.hidden:
        layers += [nn.Linear(n_in, width, bias=needs_bias(opts.norm)), norm_1d(opts.norm, width),
                   activation(opts.activation)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        n_in = width
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """(B, in_dim) -> hidden stack -> Linear -> output activation -> (B, *out_shape)."""

    def __init__(self, opts: MLPOptions, in_dim: int, out_shape: tuple[int, ...], data_kind: str):
        super().__init__()
        self.out_shape = tuple(out_shape)
        self.body = _hidden_stack(in_dim, opts)
        self.out = nn.Linear(opts.hidden[-1], math.prod(self.out_shape))
        self.out_act = output_activation(opts.out_activation, data_kind)
        maybe_spectral(self, opts.norm)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out_act(self.out(self.body(z))).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(Discriminator):
    """(B, *in_shape) -> flatten -> hidden stack = features -> Linear head -> (B, out_dim).

    Dropout, when set, follows every hidden activation, the last one included, so the head sees
    dropped-out features in training mode (as the maxout discriminator of Goodfellow et al. 2014).
    """

    def __init__(self, opts: MLPOptions, in_shape: tuple[int, ...], out_dim: int):
        super().__init__()
        self.body = _hidden_stack(math.prod(in_shape), opts, opts.dropout)
        self.feature_dim = opts.hidden[-1]
        self.head = nn.Linear(self.feature_dim, out_dim)
        maybe_spectral(self, opts.norm)  # every Linear, the head included

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))


@register("net", "mlp", MLPOptions)
class MLP:
    """Fully connected G and D for any data shape (points or flattened images)."""

    @classmethod
    def generator(cls, opts: MLPOptions, in_dim: int, out_shape: tuple[int, ...],
                  data_kind: str) -> nn.Module:
        return MLPGenerator(opts, in_dim, out_shape, data_kind)

    @classmethod
    def discriminator(cls, opts: MLPOptions, in_shape: tuple[int, ...], out_dim: int,
                      data_kind: str) -> Discriminator:
        return MLPDiscriminator(opts, in_shape, out_dim)
