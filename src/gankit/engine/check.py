"""`gankit train CONFIG --check`: everything a run needs before its first checkpoint (the config, the data,
the networks, the first training steps up to one generator update, a sample, the metrics of
train.eval_every), in seconds and with no file written. A mistake then costs a second, not a queued cluster job that dies at step 0."""
from __future__ import annotations

import math
from pathlib import Path

import torch

from ..config import Config, load_config
from ..data import load_dataset
from ..data.base import Dataset
from ..errors import ConfigError, NonFiniteLossError
from ..memory import check_fits
from ..models import build_model
from ..options import to_dict
from .batches import BatchStream
from .device import resolve_device


def check_sizes(cfg: Config, data: Dataset) -> None:
    """What the config asks to hold at once, against the data and the memory there is."""
    t = cfg.train
    if t.batch_size > len(data):
        raise ConfigError(f"train.batch_size = {t.batch_size} is larger than the training set "
                          f"({len(data)} samples of {cfg.data.name!r}). Lower train.batch_size.")
    per = 4 * max(1, math.prod(data.sample_shape))
    for key, n, copies in (("n_grid", t.n_grid, 3), ("eval_n", t.eval_n if t.eval_every else 0, 4)):
        check_fits(float(n) * per * copies, f"train.{key} = {n:,} samples of shape {data.sample_shape}",
                   f"Lower train.{key}.")


def check_batch_norm(cfg: Config, model, world: int = 1) -> None:
    """Batch norm cannot normalise a batch of one sample (torch fails inside the first step); a distributed
    run normalises each rank's batch_size / world samples."""
    if cfg.train.batch_size // world >= 2:
        return
    from torch.nn.modules.batchnorm import _BatchNorm

    nets = [name for name, net in model.nets.items() if any(isinstance(m, _BatchNorm) for m in net.modules())]
    if nets:
        per = "" if world == 1 else f" over {world} processes ({cfg.train.batch_size // world} each)"
        raise ConfigError(f"train.batch_size = {cfg.train.batch_size}{per} with batch norm in {', '.join(nets)}: batch "
                          "norm needs at least 2 samples per batch. Raise train.batch_size, or set the networks' "
                          "norm to layer or none.")


def resolve_config(config: str | Path | dict | Config, overrides: list[str] | tuple = (),
                   budget: str | None = None, device: str | None = None) -> Config:
    """The Config that `train` would use for these arguments."""
    extra = list(overrides) + ([f"train.budget={budget}"] if budget is not None else []) \
        + ([f"train.device={device}"] if device is not None else [])
    if isinstance(config, Config):
        return load_config(to_dict(config), extra) if extra else config
    return load_config(config, extra)


def check(config: str | Path | dict | Config, overrides: list[str] | tuple = (), *, budget: str | None = None,
          device: str | None = None) -> dict:
    """Build what `train` would build and train up to the first generator update (n_critic steps). Raises gankit's own errors
    (ConfigError, DataError, NonFiniteLossError) for what would stop the run; returns what was built."""
    cfg = resolve_config(config, overrides, budget, device)
    dev = resolve_device(cfg.train.device)
    from .accel import resolve_precision

    resolve_precision(cfg.train.precision, cfg.train.amp, dev)   # fp16 on a CPU etc.: refused here too
    data = load_dataset(cfg.data)
    if cfg.train.channels_last and data.kind != "image":
        from .accel import to_channels_last

        to_channels_last({}, data.kind)   # its error names the setting
    check_sizes(cfg, data)
    stream = BatchStream(data.train.to(dev), None if data.train_labels is None else data.train_labels.to(dev),
                         cfg.train.batch_size, cfg.train.seed)
    rng = torch.get_rng_state()   # the caller's random stream is left as it was
    try:
        torch.manual_seed(cfg.train.seed)
        model = build_model(cfg.model, data, dev, horizon=cfg.train.steps)
        check_batch_norm(cfg, model)
        model.train()
        # Enough steps for one generator update too (it comes after n_critic discriminator steps).
        losses: dict[str, float] = {}
        for step in range(max(1, min(int(getattr(cfg.model, "n_critic", 1) or 1), 10))):
            losses.update({k: float(v) for k, v in model.train_step(stream.next(), step).items()})
            bad = [k for k, v in losses.items() if not math.isfinite(v)]
            if bad:
                raise NonFiniteLossError(f"training step {step} gives non-finite {', '.join(bad)} ({losses}); "
                                         "lower the learning rates or check the data.")
        model.train(False)
        shape = tuple(model.sample(2, generator=torch.Generator().manual_seed(0)).shape[1:])
        if cfg.train.eval_every:
            from ..metrics.scorer import Scorer

            Scorer(data, cfg.data.name, cfg.train.eval_metrics, cfg.train.eval_n)
    finally:
        torch.set_rng_state(rng)
    params = sum(p.numel() for net in model.nets.values() for p in net.parameters())
    return {"model": cfg.model.name, "dataset": cfg.data.name, "train_samples": len(data),
            "sample_shape": list(shape), "parameters": params, "first_step_losses": losses,
            "device": str(dev)}
