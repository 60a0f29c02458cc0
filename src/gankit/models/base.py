"""The one abstraction: a model owns its networks and optimizers and takes one training step.

The engine knows nothing of GAN theory; it calls `train_step(batch, step)` and `sample(n, **latent)`.
A new GAN is a subclass with its own options dataclass that overrides `d_step` / `g_step`
(or `train_step` itself when the schedule is unusual).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Literal, NamedTuple, Optional

import torch
from torch import Tensor, nn

from ..options import Options, component, opt
from ..data.base import Dataset
from ..errors import ConfigError
from ..nets import build_discriminator, build_generator
from .average import GeneratorAverage
from .optim import OptimConfig, make_optimizer, make_scheduler


class Batch(NamedTuple):
    x: Tensor
    y: Optional[Tensor] = None


@dataclass
class ModelOptions(Options):
    """Options every model has: noise, the two networks and their optimizers, the D/G schedule."""

    z_dim: int = opt(100, "size of the noise vector z")
    noise: Literal["normal", "uniform"] = opt("normal", "distribution of z: N(0, 1) or U(-1, 1)")
    generator: Options = component("net", Options(name="mlp"), "generator network (`gankit list`)")
    discriminator: Options = component("net", Options(name="mlp"), "discriminator network")
    optim_g: OptimConfig = opt(OptimConfig(), "generator optimizer")
    optim_d: OptimConfig = opt(OptimConfig(), "discriminator optimizer")
    n_critic: int = opt(1, "discriminator steps per generator step")
    g_ema: float = opt(0.0, "decay of an exponential moving average of G's weights that sampling and evaluation "
                            "use (Yazici et al. 2019); 0 = off (sample the trained G), e.g. 0.999")

    def check(self, path: str) -> None:
        if not 0.0 <= self.g_ema < 1.0:
            raise ConfigError(f"{path}.g_ema must be in [0, 1) (0 = off; typical 0.999), got {self.g_ema}.")
        if self.z_dim <= 0:
            raise ConfigError(f"{path}.z_dim must be positive, got {self.z_dim}.")
        if self.n_critic <= 0:
            raise ConfigError(f"{path}.n_critic must be a positive number of D steps per G step, "
                              f"got {self.n_critic}.")


class Model:
    """Base model: a generator G and a discriminator D trained in alternation."""

    Options = ModelOptions
    # Distributed runs (engine/distributed.py) wrap each trained net in its own DistributedDataParallel.
    # Nets whose parameters some steps leave unused (a bank of generators picked per sample) need
    # find_unused_parameters; nets that are never called through forward() (a bare parameter read
    # directly) cannot be synced by DDP's hooks and have their gradients averaged by hand instead.
    ddp_find_unused: tuple[str, ...] = ()
    ddp_manual: tuple[str, ...] = ()

    def __init__(self, opts: ModelOptions, data: Dataset, device: torch.device | str = "cpu",
                 horizon: int | None = None):
        self.opts = opts
        self.data_kind = data.kind
        self.sample_shape = data.sample_shape
        self.n_classes = data.n_classes
        self.device = torch.device(device)
        self.horizon = horizon          # planned number of steps, for learning-rate schedules
        self.nets: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = {}
        # fp16 only: one gradient scaler per update (an optimizer, or the group one loss steps together)
        self.scalers: dict[tuple[str, ...], torch.amp.GradScaler] | None = None
        self.grad_sync = None   # distributed runs: averages the gradients of `ddp_manual` nets over ranks
        self.build(data)
        for net in self.nets.values():
            net.to(self.device)
        self.build_optimizers()
        self.ema = GeneratorAverage.for_model(self)

    # ------------------------------------------------------------------ construction (override to extend)
    def build(self, data: Dataset) -> None:
        o = self.opts
        self.nets["G"] = build_generator(o.generator, self.g_in_dim(), self.sample_shape, self.data_kind)
        self.nets["D"] = build_discriminator(o.discriminator, self.sample_shape, 1, self.data_kind)

    def g_in_dim(self) -> int:
        return self.opts.z_dim

    def build_optimizers(self) -> None:
        o = self.opts
        self.add_optimizer("G", o.optim_g, self.nets["G"].parameters(), self.g_horizon)
        self.add_optimizer("D", o.optim_d, self.nets["D"].parameters(), self.horizon)

    @property
    def g_horizon(self) -> int | None:
        """Planned generator steps (one per n_critic D steps), for the schedules of G-side optimizers."""
        return None if self.horizon is None else max(1, self.horizon // self.opts.n_critic)

    def add_optimizer(self, name: str, cfg: OptimConfig, params, horizon: int | None) -> None:
        self.optimizers[name] = make_optimizer(cfg, params)
        sched = make_scheduler(cfg, self.optimizers[name], horizon)
        if sched is not None:
            self.schedulers[name] = sched

    # ------------------------------------------------------------------ training
    def train_step(self, batch: Batch, step: int) -> dict[str, Tensor]:
        """One D update on `batch`, then a G update when `g_step_due(step)`."""
        out = self.d_step(batch)
        if self.g_step_due(step):
            out.update(self.g_step(batch))
        return out

    def g_step_due(self, step: int) -> bool:
        """Does D step `step` (0-based) end with a G step? Every n_critic-th, unless a model's schedule differs."""
        return (step + 1) % self.opts.n_critic == 0

    def d_step(self, batch: Batch) -> dict[str, Tensor]:
        raise NotImplementedError

    def g_step(self, batch: Batch) -> dict[str, Tensor]:
        raise NotImplementedError

    def update(self, name: str, loss: Tensor) -> None:
        """Backpropagate `loss` into optimizer `name`'s parameters and take one step (and its schedule)."""
        self.update_together((name,), loss)

    def update_together(self, names: tuple[str, ...], loss: Tensor) -> None:
        """One backward pass of `loss`, then a step of each named optimizer (e.g. InfoGAN's G and Q)."""
        for n in names:
            self.optimizers[n].zero_grad(set_to_none=True)
        scaler = self._scaler(names)
        if scaler is None:
            loss.backward()
        else:   # fp16: scale the loss so small gradients survive; a step with inf/nan gradients is skipped
            scaler.scale(loss).backward()
        if self.grad_sync is not None:
            self.grad_sync(names)
        for n in names:
            if scaler is None:
                self.optimizers[n].step()
            else:
                scaler.step(self.optimizers[n])
            if n in self.schedulers:
                self.schedulers[n].step()
        if scaler is not None:
            scaler.update()
        if self.ema is not None and "G" in names:
            self.ema.update()

    # ------------------------------------------------------------------ precision
    def use_fp16_scaling(self) -> None:
        """Train with fp16 autocast: each update gets its own torch.amp.GradScaler (the trainer calls this)."""
        self.scalers = {}

    def _scaler(self, names: tuple[str, ...]) -> "torch.amp.GradScaler | None":
        if self.scalers is None:
            return None
        if names not in self.scalers:
            self.scalers[names] = torch.amp.GradScaler(self.device.type)
        return self.scalers[names]

    def loss_scale(self, names: tuple[str, ...]) -> float:
        """The fp16 loss scale of the update `names` (1.0 otherwise): a gradient penalty differentiates
        D's scaled scores so that its input gradients do not underflow in fp16, then divides it out."""
        scaler = self._scaler(names)
        return 1.0 if scaler is None else float(scaler.get_scale())

    @contextlib.contextmanager
    def frozen(self, *names: str) -> Iterator[None]:
        """Stop gradients into these nets' parameters (G's step need not compute D's weight grads)."""
        params = [p for n in names for p in self.nets[n].parameters() if p.requires_grad]
        for p in params:
            p.requires_grad_(False)
        try:
            with contextlib.ExitStack() as stack:
                for n in names:   # a DDP-wrapped net must not wait for gradients it will not get
                    if hasattr(self.nets[n], "no_sync"):
                        stack.enter_context(self.nets[n].no_sync())
                yield
        finally:
            for p in params:
                p.requires_grad_(True)

    # ------------------------------------------------------------------ sampling
    def latent(self, n: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Everything G needs for n samples (noise, and codes in subclasses), drawn from the prior."""
        shape = (n, self.opts.z_dim)
        if self.opts.noise == "uniform":
            z = torch.rand(shape, generator=generator) * 2 - 1
        else:
            z = torch.randn(shape, generator=generator)
        return {"z": z.to(self.device)}

    def grid_latent(self, n: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """The fixed latent inputs of the training grid and GIF; class-conditional models order the classes."""
        return self.latent(n, generator)

    def generate(self, z: Tensor, **codes: Tensor) -> Tensor:
        """G's forward pass on given latent inputs (training mode as is)."""
        return self.nets["G"](z)

    @torch.no_grad()
    def sample(self, n: int | None = None, generator: torch.Generator | None = None, batch_size: int = 1000,
               **latent: Tensor) -> Tensor:
        """Samples in data range with G in eval mode; draws the latent unless given (`z=...`)."""
        if not latent:
            if n is None:
                raise ValueError("sample() needs n or latent inputs")
            latent = self.latent(n, generator)
        G = self.nets["G"]
        was_training = G.training
        G.eval()
        try:
            with self.ema.swapped_in() if self.ema is not None else contextlib.nullcontext():
                total = next(iter(latent.values())).shape[0]
                parts = []
                for i in range(0, total, batch_size):
                    part = {k: v[i:i + batch_size].to(self.device) for k, v in latent.items()}
                    parts.append(self.generate(**part))
                return torch.cat(parts).float()
        finally:
            G.train(was_training)

    def figures(self, run_dir, data: Dataset, log_rows: list[dict] = ()) -> list:
        """A paper's own pictures, written into the run directory at the end of training (e.g. DMWGAN's
        rows per generator); `log_rows` are the run's logged rows (losses.jsonl); returns their paths."""
        return []

    def extra_metrics(self, data: Dataset, extractor=None) -> dict[str, float]:
        """A paper's own scores of this model (e.g. InfoGAN's Q accuracy), added to `gankit eval`."""
        return {}

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {
            "nets": {k: v.state_dict() for k, v in self.nets.items()},
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
            "schedulers": {k: v.state_dict() for k, v in self.schedulers.items()},
            "extra": self.extra_state(),
            **({"g_ema": self.ema.state_dict()} if self.ema is not None else {}),
            **({"scalers": {",".join(k): v.state_dict() for k, v in self.scalers.items()}}
               if self.scalers else {}),
        }

    def load_state_dict(self, state: dict, weights_only: bool = False) -> None:
        for k, v in self.nets.items():
            v.load_state_dict(state["nets"][k])
        self.load_extra_state(state.get("extra", {}))   # also for sampling/eval: e.g. ssgan's averaged D
        if self.ema is not None:   # a checkpoint without one (g_ema switched on by --branch) starts it from G
            self.ema.load_state_dict(state.get("g_ema"))
        if weights_only:
            return
        for k, v in self.optimizers.items():
            v.load_state_dict(state["optimizers"][k])
        for k, v in self.schedulers.items():
            v.load_state_dict(state["schedulers"][k])
        if self.scalers is not None:
            for key, sd in state.get("scalers", {}).items():
                self._scaler(tuple(key.split(","))).load_state_dict(sd)

    def extra_state(self) -> dict:
        """Training state beyond nets and optimizers (e.g. running averages) that resume must restore."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    def train(self, mode: bool = True) -> "Model":
        for net in self.nets.values():
            net.train(mode)
        return self
