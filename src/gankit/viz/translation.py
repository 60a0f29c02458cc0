"""Translation pictures: one row per image, input | translation | reconstruction."""
from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from .grid import image_grid


def translation_grid(x: torch.Tensor, y: torch.Tensor, back: torch.Tensor, path: str | Path | None = None):
    """(N, C, H, W) inputs, their translations and reconstructions -> uint8 grid with N rows of 3; saved
    as PNG at `path` (written to a temporary name, then renamed) when given."""
    rows = torch.stack([x.cpu().float(), y.cpu().float(), back.cpu().float()], 1).flatten(0, 1)
    pic = image_grid(rows, nrow=3)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        Image.fromarray(pic).save(tmp, format="PNG")
        tmp.replace(path)
    return pic
