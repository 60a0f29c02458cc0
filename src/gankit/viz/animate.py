"""The training GIF: one frame per sample grid, labelled with its step."""
from __future__ import annotations

import re
from pathlib import Path

from PIL import Image, ImageDraw


def make_gif(frames: list[Path], out: str | Path, duration_ms: int = 250, max_frames: int = 100) -> Path | None:
    """Animate the PNG `frames` (named ..._STEP.png) into `out`; evenly thins to at most `max_frames`."""
    frames = sorted(frames)
    if not frames:
        return None
    if len(frames) > max_frames:
        keep = {round(i * (len(frames) - 1) / (max_frames - 1)) for i in range(max_frames)}
        frames = [f for i, f in enumerate(frames) if i in keep]
    images = []
    for f in frames:
        im = Image.open(f).convert("RGB")
        m = re.search(r"(\d+)$", f.stem)
        if m:
            label = f"step {int(m.group(1))}"
            draw = ImageDraw.Draw(im)
            draw.rectangle([0, 0, 7 * len(label) + 6, 13], fill=(0, 0, 0))
            draw.text((3, 1), label, fill=(255, 255, 255))
        images.append(im.quantize(colors=256, dither=Image.Dither.NONE))
    # Hold the last frame longer so the final result is visible.
    durations = [duration_ms] * (len(images) - 1) + [duration_ms * 8]
    images[0].save(out, save_all=True, append_images=images[1:], duration=durations, loop=0)
    return Path(out)
