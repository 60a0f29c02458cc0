"""Training throughput (images/s) of a recipe on this machine.

    python benchmarks/throughput.py dcgan-mnist train.batch_size=64 --steps 200 --warmup 20

Builds the recipe's model and data exactly as `gankit train` does and times `train_step` alone
(no logging, sampling or checkpoints), after a warm-up.
"""
from __future__ import annotations

import argparse
import platform
import time

import torch

from gankit.config import load_config
from gankit.data import load_dataset
from gankit.engine.batches import BatchStream
from gankit.engine.device import resolve_device
from gankit.models import build_model


def measure(recipe: str, overrides: list[str], steps: int, warmup: int) -> dict:
    cfg = load_config(recipe, overrides)
    device = resolve_device(cfg.train.device)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    data = load_dataset(cfg.data)
    torch.manual_seed(0)
    model = build_model(cfg.model, data, device)
    if cfg.train.compile:
        for net in model.nets.values():
            net.compile()
    stream = BatchStream(data.train.to(device), None, cfg.train.batch_size, 0)
    for s in range(warmup):
        model.train_step(stream.next(), s)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for s in range(warmup, warmup + steps):
        out = model.train_step(stream.next(), s)
    float(out["loss_d"])   # wait for the last step
    dt = time.perf_counter() - t0
    return {"recipe": recipe, "overrides": overrides, "batch_size": cfg.train.batch_size, "steps": steps,
            "seconds": round(dt, 2), "steps_per_s": round(steps / dt, 2),
            "images_per_s": round(steps * cfg.train.batch_size / dt, 1), "threads": torch.get_num_threads(),
            "device": str(device), "cpu": platform.processor() or platform.machine()}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("recipe")
    p.add_argument("overrides", nargs="*")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    a = p.parse_args()
    print(measure(a.recipe, a.overrides, a.steps, a.warmup))


if __name__ == "__main__":
    main()
