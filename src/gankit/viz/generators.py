"""Pictures of multi-generator models (DMWGAN): one row per generator with its prior mass, generated
2-D points coloured by generator over the true data, and the prior over training time."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from .grid import image_grid

PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def generator_rows(per_generator: list[torch.Tensor], masses: list[float], out: str | Path,
                   label_width: int = 70) -> Path:
    """Images (N, C, H, W) in [-1, 1] of each generator as a row, its prior mass written at its left."""
    rows = [image_grid(x, nrow=len(x)) for x in per_generator]
    h, w = rows[0].shape[:2]
    canvas = Image.new("RGB", (label_width + w, h * len(rows)), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (row, m) in enumerate(zip(rows, masses)):
        canvas.paste(Image.fromarray(row), (label_width, i * h))
        draw.text((4, i * h + h // 2 - 10), f"G{i}", fill=(0, 0, 0))
        draw.text((4, i * h + h // 2 + 1), f"r={m:.3f}", fill=(0, 0, 0) if m > 0.01 else (160, 160, 160))
    canvas.save(out)
    return Path(out)


def generator_scatter(per_generator: list[torch.Tensor], masses: list[float], real: torch.Tensor,
                      out: str | Path, size: int = 520) -> Path:
    """2-D points of each generator in its own colour over the real data (grey), with a legend of masses.
    Each generator contributes points in proportion to its prior mass, as the mixture does."""
    ref = real.float().cpu()
    lo, hi = ref.min(0).values, ref.max(0).values
    pad = 0.15 * (hi - lo).max().item()
    lo, hi = lo - pad, hi + pad
    legend_w = 120
    img = Image.new("RGB", (size + legend_w, size), "white")
    draw = ImageDraw.Draw(img)

    def xy(p: torch.Tensor) -> np.ndarray:
        q = ((p.float().cpu() - lo) / (hi - lo)).clamp(-0.05, 1.05)
        return np.stack([q[:, 0].numpy() * (size - 1), (1 - q[:, 1].numpy()) * (size - 1)], 1)

    for x, y in xy(ref[:3000]):
        draw.point((float(x), float(y)), fill=(190, 190, 190))
    n = max(len(p) for p in per_generator)
    for i, (pts, m) in enumerate(zip(per_generator, masses)):
        keep = int(round(n * m))
        color = PALETTE[i % len(PALETTE)]
        for x, y in xy(pts[:keep]):
            draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=color)
        draw.rectangle((size + 8, 10 + 16 * i, size + 18, 20 + 16 * i), fill=color)
        draw.text((size + 24, 9 + 16 * i), f"G{i} r={m:.3f}", fill=(0, 0, 0))
    img.save(out)
    return Path(out)


def prior_line_style(i: int) -> tuple[str, str]:
    """Generator i's line in prior.png: matplotlib's 10 colours, then the same colours dashed, dotted and
    dash-dotted, so that up to 40 generators each get a line of their own (G0 and G10 were both blue)."""
    return f"C{i % 10}", ("-", "--", ":", "-.")[(i // 10) % 4]


def plot_prior(rows: list[dict], out: str | Path) -> Path | None:
    """The prior mass of each generator against the training step (columns prior_i of losses.jsonl)."""
    keys = sorted({k for r in rows for k in r if k.startswith("prior_")}, key=lambda k: int(k.split("_")[1]))
    if not keys:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for k in keys:
        i = int(k.split("_")[1])
        pts = [(r["step"], r[k]) for r in rows if k in r]
        color, dash = prior_line_style(i)
        ax.plot(*zip(*pts), lw=1.2, color=color, linestyle=dash, label=f"G{i}")
    ax.set_xlabel("step")
    ax.set_ylabel("prior mass r(c)")
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    if len(keys) <= 20:
        ax.legend(fontsize=6, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return Path(out)
