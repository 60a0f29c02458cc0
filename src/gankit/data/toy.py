"""2-D toy distributions for mode-collapse and disconnected-support experiments.

ring:  Gaussians evenly spaced on a circle (8 at radius 2, the classic "8 Gaussians").
grid:  Gaussians on a square grid (5x5 at {-4,-2,0,2,4}^2, the classic "25 Gaussians").
lines: points uniform on disjoint line segments (DMWGAN, Khayatkhoei et al. 2018).

Each point's mode (or segment) index is its label; `info` holds the geometry for evaluation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch

from ..options import opt
from ..errors import ConfigError
from ..memory import check_fits
from ..registry import register
from .base import DataOptions, Dataset

# The DMWGAN release's 4 segments (run_dmgan.py, generate_line_data): one per quadrant, on the lines
# |x| + |y| = 1, with |x| in [0.25, 0.75]; they form a diamond with its corners cut away.
DMWGAN_SEGMENTS = [[0.25, 0.75, 0.75, 0.25], [-0.25, 0.75, -0.75, 0.25],
                   [-0.25, -0.75, -0.75, -0.25], [0.25, -0.75, 0.75, -0.25]]


@dataclass
class ToyOptions(DataOptions):
    """Options shared by the toy distributions."""

    n_train: int = opt(100000, "training points")
    n_test: int = opt(10000, "test points (0 = no test set)")
    std: float = opt(0.0, "standard deviation of the Gaussian noise around each mode / segment")
    weights: Optional[list[float]] = opt(None, "relative weight of each mode / segment; None = uniform")

    def n_modes(self) -> int:
        raise NotImplementedError

    def check(self, path: str) -> None:
        super().check(path)
        if self.n_train < 1 or self.n_test < 0:
            raise ConfigError(f"{path}: n_train must be positive and n_test non-negative, got "
                              f"n_train={self.n_train}, n_test={self.n_test}.")
        # 2-D points as float32, their mode labels as int64, and the draw's temporaries
        n = self.n_train + self.n_test
        check_fits(n * 40, f"{path}.n_train + n_test = {n:,} points", f"Lower {path}.n_train / n_test.")
        if self.std < 0:
            raise ConfigError(f"{path}.std must be non-negative, got {self.std}.")
        k = self.n_modes()
        w = self.weights
        if w is not None and (len(w) != k or min(w) < 0 or sum(w) <= 0):
            raise ConfigError(f"{path}.weights must hold {k} non-negative numbers (one per mode) with a "
                              f"positive sum, got {w!r}. Leave it unset (null) for equal weights.")


@dataclass
class RingOptions(ToyOptions):
    modes: int = opt(8, "number of Gaussians on the circle")
    radius: float = opt(2.0, "radius of the circle")
    std: float = opt(0.02, "standard deviation of each Gaussian")

    def n_modes(self) -> int:
        return self.modes

    def check(self, path: str) -> None:
        if self.modes < 1 or self.radius <= 0:
            raise ConfigError(f"{path}: modes and radius must be positive, got modes={self.modes}, "
                              f"radius={self.radius}.")
        super().check(path)


@dataclass
class GridOptions(ToyOptions):
    size: int = opt(5, "Gaussians per side of the square grid (size^2 modes)")
    spacing: float = opt(2.0, "distance between neighbouring modes; the grid is centred on 0")
    std: float = opt(0.05, "standard deviation of each Gaussian")

    def n_modes(self) -> int:
        return self.size ** 2

    def check(self, path: str) -> None:
        if self.size < 1 or self.spacing <= 0:
            raise ConfigError(f"{path}: size and spacing must be positive, got size={self.size}, "
                              f"spacing={self.spacing}.")
        super().check(path)


@dataclass
class LinesOptions(ToyOptions):
    segments: list[list[float]] = opt(DMWGAN_SEGMENTS, "line segments, each [x0, y0, x1, y1]")

    def n_modes(self) -> int:
        return len(self.segments)

    def check(self, path: str) -> None:
        if not self.segments or any(len(s) != 4 for s in self.segments):
            raise ConfigError(f"{path}.segments must be a non-empty list of [x0, y0, x1, y1], "
                              f"got {self.segments!r}.")
        super().check(path)


def _sample(name: str, opts: ToyOptions, draw: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
            info: dict) -> Dataset:
    """Draw each point's mode from the weights, then the point itself with `draw(modes, generator)`."""
    k = opts.n_modes()
    weights = torch.tensor(opts.weights if opts.weights is not None else [1.0] * k, dtype=torch.float64)
    weights = (weights / weights.sum()).float()
    splits = []
    # Separate streams, so that the test set does not change when n_train does.
    for n, seed in ((opts.n_train, 2 * opts.seed), (opts.n_test, 2 * opts.seed + 1)):
        if n == 0:
            splits += [None, None]
            continue
        g = torch.Generator().manual_seed(seed)
        modes = torch.multinomial(weights, n, replacement=True, generator=g)
        splits += [draw(modes, g), modes]
    return Dataset(name=name, kind="points", train=splits[0], train_labels=splits[1], test=splits[2],
                   test_labels=splits[3], n_classes=k, info={**info, "weights": weights})


def _gaussians(name: str, opts: ToyOptions, centers: torch.Tensor) -> Dataset:
    def draw(modes: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return centers[modes] + opts.std * torch.randn(len(modes), 2, generator=g)

    return _sample(name, opts, draw, {"centers": centers, "std": opts.std})


@register("dataset", "ring", RingOptions)
def load_ring(opts: RingOptions) -> Dataset:
    """Gaussians on a circle (default: 8 at radius 2, std 0.02)."""
    angle = torch.arange(opts.modes, dtype=torch.float64) * (2 * math.pi / opts.modes)
    centers = (opts.radius * torch.stack([angle.cos(), angle.sin()], dim=1)).float()
    return _gaussians("ring", opts, centers)


@register("dataset", "grid", GridOptions)
def load_grid(opts: GridOptions) -> Dataset:
    """Gaussians on a square grid (default: 5x5 at {-4,-2,0,2,4}^2, std 0.05)."""
    axis = (torch.arange(opts.size) - (opts.size - 1) / 2) * opts.spacing
    centers = torch.cartesian_prod(axis, axis).float()
    return _gaussians("grid", opts, centers)


@register("dataset", "lines", LinesOptions)
def load_lines(opts: LinesOptions) -> Dataset:
    """Points uniform on disjoint line segments (DMWGAN's toy: 4 segments of a broken diamond)."""
    segments = torch.tensor(opts.segments, dtype=torch.float32)

    def draw(modes: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        start, end = segments[modes, :2], segments[modes, 2:]
        t = torch.rand(len(modes), 1, generator=g)
        return start + t * (end - start) + opts.std * torch.randn(len(modes), 2, generator=g)

    return _sample("lines", opts, draw, {"segments": segments, "std": opts.std})
