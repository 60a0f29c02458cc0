"""Where does a generator lose the variation over z? For each leaf layer of a run's G, the std of its output
across 256 noise draws over the mean magnitude of that output (1 = varies as much as it is large, 0 = the same
for every z), with G in eval mode; plus the share of G's last pre-activation values beyond 3 in magnitude (tanh
saturation). Used for the MNIST search of issue 26 (benchmarks/RESULTS.md).

    python benchmarks/g_variation.py RUN_DIR [RUN_DIR ...]
"""
from __future__ import annotations

import sys

import torch

from gankit.errors import GankitError
from gankit.run import load_run


def variation(run_dir: str, n: int = 256, seed: int = 0) -> tuple[list[tuple[str, float]], float]:
    run = load_run(run_dir, device="cpu")
    latent = run.model.latent(n, torch.Generator().manual_seed(seed))   # the run's own prior (and codes)
    outs: list[tuple[str, torch.Tensor]] = []
    leaves = [m for m in run.model.nets["G"].modules() if not list(m.children())]
    hooks = [m.register_forward_hook(lambda m, i, o: outs.append((type(m).__name__, o))) for m in leaves]
    with torch.no_grad():
        run.model.generate(**latent)
    for h in hooks:
        h.remove()
    rows = [(kind, (o.flatten(1).std(0).mean() / (o.flatten(1).abs().mean() + 1e-8)).item()) for kind, o in outs]
    pre = [o for kind, o in outs if kind in ("ConvTranspose2d", "Linear", "Conv2d")][-1]
    return rows, (pre.abs() > 3).float().mean().item()


if __name__ == "__main__":
    for d in sys.argv[1:]:
        try:
            rows, saturated = variation(d)
        except GankitError as e:
            sys.exit(f"g_variation.py: {e}")
        print(d)
        print("  " + " | ".join(f"{kind} {v:.3f}" for kind, v in rows))
        print(f"  last pre-activation beyond 3: {saturated:.2f}")
