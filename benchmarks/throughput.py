"""Training throughput of gankit against the canonical PyTorch DCGAN loop, side by side in ONE process.

    python benchmarks/throughput.py                      # DCGAN-MNIST, batch 64, fp32, 3 alternating repeats
    python benchmarks/throughput.py --variants fp32,fp32+reuse,channels_last+reuse,bf16+reuse --repeats 5
    python benchmarks/throughput.py --full-loop fp32     # + the whole `gankit train` loop in that variant
    python benchmarks/throughput.py --profile            # + where the time of train_step goes
    python benchmarks/throughput.py --ddp 2              # + 2 gloo processes (`gankit train --nproc 2`)
    python benchmarks/throughput.py --batches 64,256,1024,4096 --variants fp32,bf16,compile   # on a GPU

The peer is ../shared/bench/reference_dcgan.py, run unchanged (runpy) in this process: a Dataset returning
one normalized image, a DataLoader with 2 workers, `.item()` every step; same networks (gankit's
dcgan-mnist recipe: DCGAN width 64), batch and Adam settings. Both are timed after a warm-up, in alternating
repeats, on the same threads. Reported besides img/s and the ratio:
- gankit's full `gankit train` loop (logging, sample grids, checkpoints at the recipe's intervals) against
  its train_step alone;
- FLOP utilization: FLOPs of one training step per image (torch.utils.flop_counter: forward and backward
  of both updates) x img/s / the fp32 matmul peak measured here (best of a 2048^3 matmul), and / the best
  rate of the model's own largest convolution (a second ceiling, see conv_peak), both per repeat;
- peak memory: the process's peak RSS on CPU, torch.cuda.max_memory_allocated on GPU.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import resource
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import gankit  # noqa: F401 - fills the registries
from gankit.config import load_config
from gankit.data import load_dataset
from gankit.engine.accel import autocast, compile_nets, native_bf16_flags, resolve_precision
from gankit.engine.batches import BatchStream
from gankit.engine.device import resolve_device
from gankit.models import build_model

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "bench" / "reference_dcgan.py"
RECIPE = "dcgan-mnist"


def matmul_peak(device: torch.device, dtype=torch.float32, n: int = 2048, reps: int = 10) -> float:
    """Best GFLOP/s of an n^3 matmul on this device and thread count."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(reps):
        _sync(device)
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def conv_peak(device: torch.device, reps: int = 30) -> float:
    """Best GFLOP/s of the model's own largest layers (forward, batch 64): G's ConvT 128->64 at 7->14 and
    D's Conv 64->128 at 14->7. A second ceiling: on CPUs where torch's sgemm does not use the widest
    vector units (MKL on AMD), oneDNN's convolutions run faster than the matmul "peak"."""
    import torch.nn.functional as F

    best = 0.0
    flops = 2 * 64 * 128 * 64 * 16 * 49
    x_t, w_t = torch.randn(64, 128, 7, 7, device=device), torch.randn(128, 64, 4, 4, device=device)
    x_c, w_c = torch.randn(64, 64, 14, 14, device=device), torch.randn(128, 64, 4, 4, device=device)
    for fn in (lambda: F.conv_transpose2d(x_t, w_t, stride=2, padding=1),
               lambda: F.conv2d(x_c, w_c, stride=2, padding=1)):
        for _ in range(reps):
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            best = max(best, flops / (time.perf_counter() - t0) / 1e9)
    return best


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def variant_overrides(variant: str) -> list[str]:
    """A variant is '+'-joined tokens: fp32 | bf16, channels_last, compile, reuse (model.reuse_fake: G's
    update uses the D step's fakes, one G forward a step, as the reference loop does)."""
    known = {"fp32", "bf16", "channels_last", "compile", "reuse"}
    bad = set(variant.split("+")) - known
    if bad:
        raise SystemExit(f"unknown variant token(s) {sorted(bad)}; known: {sorted(known)}")
    return ["model.reuse_fake=true"] if "reuse" in variant.split("+") else []


def build(batch: int, variant: str, device: torch.device, overrides: list[str]):
    extra = [f"train.batch_size={batch}", *variant_overrides(variant), *overrides]
    cfg = load_config(RECIPE, extra)
    data = load_dataset(cfg.data)
    torch.manual_seed(0)
    model = build_model(cfg.model, data, device)
    dtype = resolve_precision("bf16" if "bf16" in variant else "fp32", False, device)
    if "channels_last" in variant:
        for net in model.nets.values():
            net.to(memory_format=torch.channels_last)
    if "compile" in variant:
        compile_nets(model.nets)
    stream = BatchStream(data.train.to(device), None, batch, 0, channels_last="channels_last" in variant)
    return model, stream, dtype


def time_gankit(batch: int, variant: str, device, steps: int, warmup: int, overrides: list[str]) -> float:
    """img/s of train_step alone (the loop `gankit train` runs, without its logging and files)."""
    model, stream, dtype = build(batch, variant, device, overrides)
    for s in range(warmup):
        with autocast(device, dtype):
            model.train_step(stream.next(), s)
    _sync(device)
    t0 = time.perf_counter()
    for s in range(warmup, warmup + steps):
        with autocast(device, dtype):
            out = model.train_step(stream.next(), s)
    float(out["loss_d"])   # the last step's result is on the host: everything before it has run
    return steps * batch / (time.perf_counter() - t0)


def time_full_loop(batch: int, variant: str, steps: int, warmup: int, overrides: list[str]) -> float:
    """img/s of the whole `gankit train` (log rows, sample grids, checkpoints, GIF and curves at the end),
    from the trainer's own clock (which excludes start-up), minus a warm-up run's share: two runs of
    warmup and warmup + steps steps, the difference timed."""
    import gankit as gk

    precision = "bf16" if "bf16" in variant else "fp32"
    extra = [f"train.batch_size={batch}", f"train.precision={precision}", "train.progress=false",
             f"train.channels_last={'channels_last' in variant}", f"train.compile={'compile' in variant}",
             *variant_overrides(variant), *overrides]
    with tempfile.TemporaryDirectory() as tmp:
        short = gk.train(RECIPE, [*extra, f"train.steps={warmup}"], run_dir=Path(tmp) / "a")
        long = gk.train(RECIPE, [*extra, f"train.steps={warmup + steps}"], run_dir=Path(tmp) / "b")
    return steps * batch / (long.elapsed - short.elapsed)


def time_reference(steps: int) -> tuple[float, str]:
    """The canonical loop, run unchanged in this process; its own img/s line."""
    if not REFERENCE.exists():
        raise SystemExit(f"The reference loop {REFERENCE} is missing (it lives in the shared folder beside "
                         "the repository).")
    argv, sys.argv = sys.argv, [str(REFERENCE), str(steps)]
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            runpy.run_path(str(REFERENCE), run_name="__reference__")
    finally:
        sys.argv = argv
    line = buf.getvalue().strip().splitlines()[-1]
    return float(re.search(r"([\d.]+) img/s", line).group(1)), line


def flops_per_image(batch: int, device, overrides: list[str], variant: str = "fp32") -> float:
    from torch.utils.flop_counter import FlopCounterMode

    model, stream, _ = build(batch, variant, device, overrides)
    with FlopCounterMode(display=False) as fc:
        model.train_step(stream.next(), 0)
    return fc.get_total_flops() / batch


def profile(batch: int, variant: str, device, steps: int, overrides: list[str]) -> list[tuple[str, float]]:
    """Share of train_step's self time per operator, top 15 (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile as prof

    model, stream, dtype = build(batch, variant, device, overrides)
    for s in range(10):
        with autocast(device, dtype):
            model.train_step(stream.next(), s)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with prof(activities=acts) as p:
        for s in range(steps):
            with autocast(device, dtype):
                out = model.train_step(stream.next(), s)
        float(out["loss_d"])
    rows = [(e.key, e.self_device_time_total if device.type == "cuda" else e.self_cpu_time_total)
            for e in p.key_averages()]
    total = sum(t for _, t in rows)
    return [(k, round(100 * t / total, 1)) for k, t in sorted(rows, key=lambda r: -r[1])[:15]]


def time_ddp(nproc: int, batch: int, steps: int) -> float:
    """img/s of `gankit train --nproc N` (global batch `batch`), from rank 0's clock, minus a warm-up run."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, name in ((20, "a"), (20 + steps, "b")):
            cmd = [sys.executable, "-m", "gankit", "train", RECIPE, f"train.batch_size={batch}",
                   f"train.steps={n}", "--nproc", str(nproc), "--out", f"{tmp}/{name}", "--no-progress"]
            subprocess.run(cmd, check=True, capture_output=True)
            out.append(json.loads(Path(f"{tmp}/{name}/status.json").read_text())["elapsed"])
    return steps * batch / (out[1] - out[0])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3, help="alternating repeats of reference and gankit")
    p.add_argument("--batches", default="64", help="comma-separated batch sizes (the reference runs at 64)")
    p.add_argument("--variants", default="fp32", help="comma-separated: fp32, bf16, channels_last, compile, "
                                                      "bf16+compile, ...")
    p.add_argument("--full-loop", default=None, metavar="VARIANT",
                   help="also time the whole gankit train loop (batch 64) in this variant")
    p.add_argument("--profile", action="store_true", help="also profile train_step (fp32, batch 64)")
    p.add_argument("--ddp", type=int, default=0, help="also time gankit train --nproc N")
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    p.add_argument("overrides", nargs="*", help="key=value overrides of the dcgan-mnist recipe")
    a = p.parse_args()
    device = resolve_device("auto")
    peak = matmul_peak(device)
    fpi = flops_per_image(64, device, a.overrides)
    # One G forward a step (reuse): the reference loop's algorithm, hence also its FLOPs per image.
    fpi_reuse = flops_per_image(64, device, a.overrides, "fp32+reuse")
    info = {"device": str(device), "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(), "bf16_flags": native_bf16_flags(), "torch": torch.__version__,
            "matmul_peak_gflops": round(peak, 1), "mflop_per_image": round(fpi / 1e6, 1),
            "mflop_per_image_reuse_and_reference": round(fpi_reuse / 1e6, 1)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
        info["matmul_peak_bf16_gflops"] = round(matmul_peak(device, torch.bfloat16), 1)
    print(json.dumps(info))
    results: dict = {"info": info, "repeats": []}
    batches = [int(b) for b in a.batches.split(",")]
    variants = a.variants.split(",")
    for r in range(a.repeats):
        # This machine's clock drifts between minutes: each repeat measures its own peak, and the shares
        # and ratios are taken within a repeat.
        row: dict = {"matmul_peak_gflops": round(matmul_peak(device), 1),
                     "conv_peak_gflops": round(conv_peak(device), 1)}
        ref, line = time_reference(a.steps)
        row["reference_img_s"] = round(ref, 1)
        for b in batches:
            for v in variants:
                ips = time_gankit(b, v, device, a.steps, a.warmup, a.overrides)
                row[f"gankit_{v}_b{b}_img_s"] = round(ips, 1)
        if a.full_loop:   # bracketed by train_step alone, before and after, in the same variant
            v = a.full_loop
            before = time_gankit(64, v, device, a.steps, a.warmup, a.overrides)
            full = time_full_loop(64, v, a.steps, a.warmup, a.overrides)
            after = time_gankit(64, v, device, a.steps, a.warmup, a.overrides)
            row[f"gankit_full_loop_{v}_b64_img_s"] = round(full, 1)
            row["full_loop_over_train_step"] = round(2 * full / (before + after), 3)
        results["repeats"].append(row)
        print(json.dumps({"repeat": r, **row}), flush=True)
    summary = {}
    for row in results["repeats"]:   # FLOP shares within each repeat, against its own peak
        for key in [k for k in row if k.startswith(("gankit_", "reference_")) and "bf16" not in k]:
            flops = fpi_reuse if ("reuse" in key or key.startswith("reference")) else fpi
            row[key.replace("_img_s", "_peak_share")] = round(row[key] * flops / 1e9 / row["matmul_peak_gflops"], 3)
            row[key.replace("_img_s", "_conv_peak_share")] = round(row[key] * flops / 1e9 / row["conv_peak_gflops"], 3)
    for key in results["repeats"][0]:
        vals = [row[key] for row in results["repeats"]]
        mean = sum(vals) / len(vals)
        summary[key] = {"mean": round(mean, 3 if abs(mean) < 10 else 1), "median": statistics.median(vals),
                        "min": min(vals), "max": max(vals)}
    ref_mean = summary["reference_img_s"]["mean"]
    for key, s in summary.items():
        if key.startswith("gankit_") and key.endswith("_img_s"):
            s["ratio_to_reference"] = round(s["mean"] / ref_mean, 2)
            # the same repeat's reference: the machine's drift cancels in each pair
            pairs = [row[key] / row["reference_img_s"] for row in results["repeats"]]
            s["paired_ratio_median"] = round(statistics.median(pairs), 3)
            s["paired_ratio_min"] = round(min(pairs), 3)
    if device.type == "cuda":
        summary["peak_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2 ** 20, 1)
    else:
        summary["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if a.ddp:
        one = summary.get("gankit_fp32_b64_img_s", {}).get("mean")
        ddp = time_ddp(a.ddp, 64, a.steps)
        summary[f"ddp_{a.ddp}x_fp32_b64_img_s"] = {"img_s": round(ddp, 1),
                                                    "ratio_to_one_process": round(ddp / one, 2) if one else None}
    results["summary"] = summary
    print(json.dumps(summary, indent=1))
    if a.profile:
        results["profile_fp32_b64"] = profile(64, "fp32", device, 50, a.overrides)
        print("\nwhere train_step's time goes (fp32, batch 64, self time share %):")
        for k, pct in results["profile_fp32_b64"]:
            print(f"  {pct:5.1f}  {k}")
    if a.out:
        Path(a.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("GANKIT_CACHE", "off")
    main()
