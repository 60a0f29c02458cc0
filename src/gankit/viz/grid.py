"""Sample grids for images and scatter plots for 2-D points."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def image_grid(x: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> uint8 (H', W', 3) grid, `nrow` images per row (default: square)."""
    x = x.detach().float().cpu().clamp(-1, 1)
    n, c, h, w = x.shape
    if c == 1:
        x = x.expand(n, 3, h, w)
    elif c != 3:
        x = x[:, :3] if c > 3 else torch.cat([x, x[:, -1:].expand(n, 3 - c, h, w)], 1)
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = torch.ones(3, rows * (h + padding) + padding, nrow * (w + padding) + padding)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top:top + h, left:left + w] = x[i]
    return ((grid + 1) * 127.5).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()


def points_figure(points: torch.Tensor, real: torch.Tensor | None = None, title: str = "",
                  size: int = 400) -> np.ndarray:
    """2-D samples (red) over real data (grey) as an RGB uint8 picture, with a unit grid.

    Drawn with PIL rather than matplotlib: a frame costs milliseconds, so training can draw many.
    """
    from PIL import ImageDraw

    p = points.detach().float().cpu()
    ref = real.float().cpu() if real is not None else p
    lo, hi = ref.min(0).values, ref.max(0).values
    centre, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * 1.25 + 1e-6
    scale = (size - 1) / (2 * half)

    def to_px(t: torch.Tensor) -> list[tuple[float, float]]:
        xy = (t - centre + half) * scale
        return [(float(x), float(size - 1 - y)) for x, y in xy.tolist()]

    im = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    for k in range(int(np.floor(float(centre.min()) - half)), int(np.ceil(float(centre.max()) + half)) + 1):
        (gx, gy), = to_px(torch.tensor([[float(k), float(k)]]))
        draw.line([(gx, 0), (gx, size)], fill=(235, 235, 235))
        draw.line([(0, gy), (size, gy)], fill=(235, 235, 235))
    if real is not None:
        for x, y in to_px(real[:2000, :2].float().cpu()):
            draw.point((x, y), fill=(150, 150, 150))
    for x, y in to_px(p):
        draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=(214, 39, 40))
    label = f"{title}  (grid: 1 unit; grey: real, red: generated)" if title else "grey: real, red: generated"
    draw.text((4, size - 14), label, fill=(0, 0, 0))
    return np.asarray(im)


def samples_picture(samples: torch.Tensor, real: torch.Tensor | None = None, title: str = "") -> np.ndarray:
    """Images -> grid; 2-D points -> scatter plot (first two coordinates)."""
    if samples.dim() == 4:
        return image_grid(samples)
    if samples.dim() == 2 and samples.shape[1] >= 2:
        return points_figure(samples[:, :2], None if real is None else real[:, :2], title)
    raise ValueError(f"cannot draw samples of shape {tuple(samples.shape)}")


def save_grid(x: torch.Tensor, path: str | Path, nrow: int | None = None) -> None:
    """Write `image_grid(x, nrow)` as a PNG, creating the folder."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image_grid(x, nrow=nrow)).save(path)


def save_samples_png(samples: torch.Tensor, path: str | Path, real: torch.Tensor | None = None,
                     title: str = "") -> np.ndarray:
    pic = samples_picture(samples, real, title)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pic).save(path)
    return pic
