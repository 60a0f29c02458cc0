"""How a training step runs on its device: autocast precision, memory format and compilation.

- `train.precision`: fp32; bf16 (autocast; native on CPUs with avx512_bf16 or AMX and on GPUs since
  Ampere); fp16 (autocast plus one torch.amp.GradScaler per update, GPU only: CPUs have no fast fp16
  arithmetic). A gradient penalty under fp16 differentiates D's scaled scores (Model.loss_scale).
- `train.channels_last`: convolutional nets and image batches in NHWC, which oneDNN and cuDNN prefer.
- `train.compile`: torch.compile of every net. Where the backend cannot build (no C++ compiler, an
  unsupported op), the net falls back to eager with a warning at its first call instead of ending the run.
"""
from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError

BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bf16_flags() -> list[str]:
    """The flags of this CPU that make bf16 arithmetic native (empty: emulated, slower than fp32)."""
    flags = cpu_flags()
    return [f for f in BF16_FLAGS if f in flags]


def resolve_precision(precision: str, amp: bool, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a run (None: fp32), or a ConfigError before anything is built."""
    if precision == "fp32" and amp and device.type == "cuda":
        precision = "bf16"   # the deprecated train.amp, as it always behaved
    if precision == "fp32":
        return None
    if precision == "fp16":
        if device.type != "cuda":
            raise ConfigError("train.precision = 'fp16' needs a GPU: CPUs have no fast fp16 arithmetic (torch "
                              "emulates it, slower than fp32). On this CPU use precision: bf16"
                              + (f" (it has {', '.join(native_bf16_flags())})" if native_bf16_flags() else "")
                              + " or fp32.")
        return torch.float16
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError("train.precision = 'bf16' but this GPU has no bf16 support; use fp16 or fp32.")
    if device.type == "cpu" and not native_bf16_flags():
        warnings.warn("train.precision = 'bf16' on a CPU without avx512_bf16 or AMX: bf16 is emulated there "
                      "and usually slower than fp32.", stacklevel=2)
    return torch.bfloat16


def autocast(device: torch.device, dtype: torch.dtype | None):
    """Autocast around a whole training step. Its weight-cast cache is off: a step updates a net and may use
    it again (InfoGAN's Q, in its D and G updates), and the cache, keyed on the tensor and not its version,
    would hand the second use the low-precision copy of the weights from before the update."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype, cache_enabled=False)


def to_channels_last(nets: dict[str, nn.Module], data_kind: str) -> None:
    if data_kind != "image":
        raise ConfigError(f"train.channels_last is a memory format for image batches and convolutional nets; "
                          f"this run's data are {data_kind}. Set train.channels_last: false.")
    for net in nets.values():
        net.to(memory_format=torch.channels_last)


def is_compile_error(e: BaseException) -> bool:
    """An error of torch.compile's machinery (dynamo tracing, a backend that cannot build), not of the model."""
    mod = type(e).__module__ or ""
    return mod.startswith(("torch._dynamo", "torch._inductor")) or type(e).__name__ in (
        "BackendCompilerFailed", "InductorError", "CppCompileError")


def compile_nets(nets: dict[str, nn.Module], backend: str | None = None) -> None:
    """torch.compile every net, each falling back to eager (with one warning) if compiling fails.

    The backend is inductor unless $GANKIT_COMPILE_BACKEND names another (e.g. aot_eager to rule out the
    C++ toolchain). A forward that fails to compile has not run, so running it eagerly loses nothing."""
    backend = backend or os.environ.get("GANKIT_COMPILE_BACKEND") or "inductor"
    for name, net in nets.items():
        net._compiled_call_impl = _guarded(name, net, torch.compile(net._call_impl, backend=backend))


def _guarded(name: str, net: nn.Module, compiled):
    def call(*args, **kwargs):
        try:
            return compiled(*args, **kwargs)
        except Exception as e:   # noqa: BLE001 - only compile errors are answered here; others re-raised
            if not is_compile_error(e):
                raise
            net._compiled_call_impl = None
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            warnings.warn(f"train.compile: torch.compile could not build net {name!r} ({type(e).__name__}: "
                          f"{first}); it runs eagerly instead.", stacklevel=2)
            return net._call_impl(*args, **kwargs)
    return call
