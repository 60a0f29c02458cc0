"""Network families (generators and discriminators), built by name from a net options section.

    G = build_generator(opts, in_dim=z_dim, out_shape=(1, 28, 28), data_kind="image")
    D = build_discriminator(opts, in_shape=(1, 28, 28), out_dim=1, data_kind="image")

`opts.name` picks the family (`mlp`, `dcgan`, ...); see base.py for the contract every family meets.
"""
from __future__ import annotations

from typing import Sequence

from torch import nn

from ..registry import lookup
from . import dcgan, mlp  # noqa: F401  (importing runs their @register)
from .base import Discriminator, NetOptions
from .layers import init_weights

__all__ = ["Discriminator", "NetOptions", "build_discriminator", "build_generator", "init_weights"]

DATA_KINDS = ("image", "points")


def _family(opts: NetOptions, data_kind: str) -> type:
    if data_kind not in DATA_KINDS:
        raise ValueError(f"data_kind must be one of {DATA_KINDS}, got {data_kind!r}")
    entry = lookup("net", opts.name)
    if not isinstance(opts, entry.options):
        raise TypeError(f"net {opts.name!r} needs {entry.options.__name__}, got {type(opts).__name__}")
    return entry.obj


def build_generator(opts: NetOptions, in_dim: int, out_shape: Sequence[int], data_kind: str) -> nn.Module:
    """(B, in_dim) -> (B, *out_shape)."""
    return _family(opts, data_kind).generator(opts, in_dim, tuple(out_shape), data_kind)


def build_discriminator(opts: NetOptions, in_shape: Sequence[int], out_dim: int,
                        data_kind: str) -> Discriminator:
    """(B, *in_shape) -> (B, out_dim); `.features(x)` gives the (B, feature_dim) body output."""
    return _family(opts, data_kind).discriminator(opts, tuple(in_shape), out_dim, data_kind)
