"""Train the classifiers that ship with gankit (feature extractors of FID, KID, PRDC and the mode metrics).

    python benchmarks/train_classifiers.py --threads 1     # both, as bundled
    python benchmarks/train_classifiers.py mnist --epochs 2 --out /tmp/w

Fixed seed, CPU, a few minutes per dataset (--threads 1 where other jobs load the CPU: two torch threads
fighting them for two cores ran 10x slower here). Trains `gankit.metrics.classifier.SmallCNN` on the
official training split (random +-2 px shifts, plus left-right flips for Fashion-MNIST; AdamW, one-cycle
schedule, batch 128), reports accuracy on the official test split, and writes float32 weights with their
metadata to src/gankit/metrics/weights/<dataset>.safetensors.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from gankit.options import build_component
from gankit.data import load_dataset
from gankit.metrics.classifier import ARCH_VERSION, BUNDLED, WEIGHTS_DIR, SmallCNN

EPOCHS = {"mnist": 3, "fashion-mnist": 6}
BATCH, LR, WEIGHT_DECAY, SHIFT = 128, 3e-3, 5e-4, 2


def shift(x: torch.Tensor, gen: torch.Generator, pad: int = SHIFT) -> torch.Tensor:
    """Random crops of the batch padded by `pad` with the background value -1: shifts of up to +-pad px."""
    n, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad), value=-1.0)
    dy, dx = (torch.randint(0, 2 * pad + 1, (2, n), generator=gen))
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]           # (n, 1, h, 1)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]           # (n, 1, 1, w)
    return padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]


def evaluate(model: SmallCNN, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(x), 1000):
            correct += int((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum())
    model.train()
    return correct / len(x)


def train(name: str, epochs: int, seed: int, out: Path, flip: bool, threads: int) -> dict:
    data = load_dataset(build_component("dataset", {"name": name}, "data"))
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = SmallCNN(n_classes=data.n_classes or 10)
    steps_per_epoch = len(data.train) // BATCH          # drop the last partial batch
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=epochs * steps_per_epoch)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        perm = torch.randperm(len(data.train), generator=gen)
        running = torch.zeros(())
        for s in range(steps_per_epoch):
            idx = perm[s * BATCH:(s + 1) * BATCH]
            x = shift(data.train[idx], gen)
            if flip:      # left-right mirror: fine for clothes, wrong for digits
                m = torch.rand(len(x), generator=gen) < 0.5
                x = torch.where(m[:, None, None, None], x.flip(3), x)
            loss = F.cross_entropy(model(x), data.train_labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += loss.detach()
        acc = evaluate(model, data.test, data.test_labels)
        print(f"  {name} epoch {epoch + 1}/{epochs}: train loss {float(running) / steps_per_epoch:.4f}, "
              f"test accuracy {acc:.4f}, {time.perf_counter() - t0:.0f} s", flush=True)
    seconds = time.perf_counter() - t0
    model.eval()
    acc = evaluate(model, data.test, data.test_labels)
    meta = {"dataset": name, "test_accuracy": f"{acc:.4f}", "seed": str(seed), "epochs": str(epochs),
            "arch_version": ARCH_VERSION, "architecture": "SmallCNN", "n_classes": str(model.head.out_features),
            "feature_dim": str(SmallCNN.feature_dim), "input": "float32 (N, 1, 28, 28) in [-1, 1]",
            "train_seconds": f"{seconds:.0f}", "augmentation": "shift+-2" + ("+flip" if flip else ""),
            "threads": str(threads), "torch": torch.__version__}
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.safetensors"
    tmp = path.with_suffix(".tmp")
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(tmp), metadata=meta)
    os.chmod(tmp, 0o644)                    # safetensors writes 0600; the package file must be readable
    os.replace(tmp, path)
    return {"dataset": name, "accuracy": acc, "seconds": seconds, "path": path, "bytes": path.stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("datasets", nargs="*", choices=[[], *BUNDLED], metavar="DATASET",
                    help=f"any of {', '.join(BUNDLED)} (default: all)")
    ap.add_argument("--epochs", type=int, default=None, help=f"default per dataset: {EPOCHS}")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads; use 1 while other jobs load the CPU (2 threads contend badly there)")
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results = [train(name, args.epochs or EPOCHS[name], args.seed, args.out,
                     flip=name == "fashion-mnist", threads=args.threads)
               for name in args.datasets or BUNDLED]
    print(f"\n{'dataset':<14} {'test acc':>8} {'train s':>8} {'size':>9}  file")
    for r in results:
        print(f"{r['dataset']:<14} {r['accuracy']:8.4f} {r['seconds']:8.0f} {r['bytes'] / 1e6:7.2f}MB  {r['path']}")


if __name__ == "__main__":
    main()
