"""The shared shape of the objective family (GAN, WGAN, WGAN-GP, LSGAN, f-GAN, DRAGAN, EBGAN).

These papers change what D and G minimise, not the system. A model of the family only says how its two
losses are computed from D's outputs (`d_loss`, `g_loss`); this base composes around them what papers add:

- a gradient penalty on D: at interpolates of real and fake (Gulrajani et al. 2017) or at perturbed real
  points (Kodali et al. 2017), or weight clipping after each D update (Arjovsky et al. 2017);
- the Improved-GAN techniques (Salimans et al. 2016): feature matching (sec. 3.1), minibatch
  discrimination (sec. 3.2), historical averaging (sec. 3.3), one-sided label smoothing (sec. 3.4).
Combinations that do not make sense are rejected by `ObjectiveOptions.check`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, Optional

import torch
from torch import Tensor, nn

from .. import losses
from ..options import opt
from ..errors import ConfigError
from ..nets import Discriminator
from ..nets.layers import MinibatchDiscrimination
from .base import Batch, Model, ModelOptions


@dataclass
class ObjectiveOptions(ModelOptions):
    penalty: Literal["none", "wgan-gp", "dragan"] = opt(
        "none", "gradient penalty on D: at real/fake interpolates (wgan-gp) or perturbed real points (dragan)")
    penalty_weight: float = opt(10.0, "lambda, weight of the gradient penalty")
    penalty_batch_norm: bool = opt(
        False, "accept a batch-coupled D (batch norm, minibatch discrimination) with a gradient penalty, "
               "knowingly: the penalty is then taken on a D whose outputs depend on the whole batch, not per "
               "sample (the InfoGAN-net MNIST recipes of tensorflow-generative-model-collections train WGAN-GP "
               "and DRAGAN so with batch norm)")
    penalty_one_sided: bool = opt(False, "penalise only gradient norms above 1: max(0, |grad| - 1)^2")
    dragan_c: float = opt(0.5, "DRAGAN perturbation scale C in x + C * std(x) * delta")
    dragan_noise: Literal["uniform", "normal"] = opt(
        "uniform", "DRAGAN delta: U(0, 1) per coordinate (reference code, one-sided) or N(0, 1) (paper, symmetric)")
    clip: Optional[float] = opt(None, "clip D's weights to [-clip, clip] after each D update (WGAN)")
    feature_matching: bool = opt(False, "G matches the mean of D's last hidden layer on real and fake (Improved-GAN 3.1)")
    minibatch_disc: bool = opt(False, "minibatch discrimination layer before D's output (Improved-GAN 3.2)")
    mbd_kernels: int = opt(100, "minibatch discrimination: number of kernels B")
    mbd_kernel_dim: int = opt(5, "minibatch discrimination: dimension C of each kernel")
    mbd_layer: Literal["paper", "released"] = opt(
        "paper", "minibatch discrimination layer: the paper's plain T, or the released code's (weight-normalised "
                 "T, scale initialised from the first batch, a bias on o)")
    historical_averaging: float = opt(0.0, "weight of ||theta - mean of past theta||^2 for G and D (Improved-GAN 3.3)")
    label_smoothing: float = opt(0.0, "one-sided label smoothing: real target 1 - this (Improved-GAN 3.4)")
    reuse_fake: bool = opt(False, "G's update uses the fakes of the D step just before it instead of fresh "
                                  "noise: one G forward per step, as the PyTorch DCGAN example")

    smoothable: ClassVar[bool] = False   # does the objective have a probability target to smooth?

    def check(self, path: str) -> None:
        super().check(path)
        if self.clip is not None and self.penalty != "none":
            raise ConfigError(f"{path}: weight clipping (clip = {self.clip}) and a gradient penalty "
                              f"(penalty = {self.penalty!r}) are two ways of constraining the same critic; "
                              "WGAN-GP replaces clipping by the penalty. Set clip: null or penalty: none.")
        if self.clip is not None and self.clip <= 0:
            raise ConfigError(f"{path}.clip must be positive (WGAN uses 0.01), got {self.clip}.")
        if self.penalty_weight < 0:
            raise ConfigError(f"{path}.penalty_weight must be >= 0, got {self.penalty_weight}.")
        if self.penalty != "none" and not self.penalty_batch_norm:
            # batch norm and the minibatch layer both make each D output depend on the whole batch
            coupling = None
            if getattr(self.discriminator, "norm", None) == "batch":
                coupling = ("discriminator.norm = 'batch'", "batch normalization", "Use norm: layer or none")
            elif self.minibatch_disc:
                coupling = ("minibatch_disc", "the minibatch layer", "Drop one of the two")
            if coupling:
                key, cause, fix = coupling
                raise ConfigError(
                    f"{path}.{key} cannot be used with the {self.penalty!r} gradient penalty: {cause} couples the "
                    "samples of a batch (each D output depends on all of them), so the per-sample gradient the "
                    "penalty constrains is not D's gradient at that point and the local penalty is defeated "
                    f"(Gulrajani et al. 2017, sec. 4; Kodali et al. 2017). {fix}, or set penalty_batch_norm: true "
                    "(any batch coupling) to accept it knowingly.")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"{path}.label_smoothing must be in [0, 1), got {self.label_smoothing}.")
        if self.label_smoothing and not self.smoothable:
            raise ConfigError(f"{path}.label_smoothing applies to the cross-entropy of a probability "
                              f"discriminator (gan, dragan); model {self.name!r} has no such target.")
        if self.historical_averaging < 0:
            raise ConfigError(f"{path}.historical_averaging must be >= 0, got {self.historical_averaging}.")
        if self.mbd_kernels <= 0 or self.mbd_kernel_dim <= 0:
            raise ConfigError(f"{path}.mbd_kernels and mbd_kernel_dim must be positive.")
        if self.mbd_layer != "paper" and not self.minibatch_disc:
            raise ConfigError(f"{path}.mbd_layer = {self.mbd_layer!r} chooses the minibatch discrimination layer, "
                              "which is off (minibatch_disc: false); set minibatch_disc: true or drop mbd_layer.")


class ObjectiveModel(Model):
    """G and D trained on losses of D's outputs, with the shared penalties and techniques."""

    Options = ObjectiveOptions

    # ------------------------------------------------------------------ the objective (override these)
    def d_loss(self, real_out: Tensor, fake_out: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """D's loss and diagnostics to log."""
        raise NotImplementedError

    def g_loss(self, fake_out: Tensor) -> Tensor:
        raise NotImplementedError

    def adversarial_g_loss(self, fake: Tensor) -> Tensor:
        """G's loss for these fakes; override when it needs more of D than its output (EBGAN)."""
        return self.g_loss(self.nets["D"](fake))

    # ------------------------------------------------------------------ construction
    def build(self, data) -> None:
        super().build(data)
        o, D = self.opts, self.nets["D"]
        if (o.feature_matching or o.minibatch_disc) and not isinstance(D, Discriminator):
            raise ConfigError(f"feature matching and minibatch discrimination need a discriminator that "
                              f"exposes its last hidden layer (features); {type(D).__name__} does not.")
        if o.minibatch_disc:
            D.head = nn.Sequential(MinibatchDiscrimination(D.feature_dim, o.mbd_kernels, o.mbd_kernel_dim,
                                                           released=o.mbd_layer == "released"),
                                   nn.Linear(D.feature_dim + o.mbd_kernels, 1))
        self.averages: dict[str, list[Tensor]] = {}
        self.average_count = 0
        if o.reuse_fake and type(self).g_step is not ObjectiveModel.g_step:
            raise ConfigError(f"model.reuse_fake: {type(self).__name__} has its own generator step, which draws "
                              "its own noise and codes; reuse_fake applies to the objective family's G step.")

    # ------------------------------------------------------------------ steps
    d_step_nets: tuple[str, ...] = ("D",)   # optimizers stepped by D's update (InfoGAN adds Q's head)
    _keep: bool = False              # reuse_fake: keep this step's fakes with G's graph ...
    _kept: Tensor | None = None      # ... for the G update that follows

    def d_fake_pass(self, fake: Tensor, latent: dict[str, Tensor]) -> tuple[Tensor, Tensor | float, dict]:
        """D's output on the fakes, plus any extra term of D's loss computed on the same pass (and its logs)."""
        return self.nets["D"](fake), 0.0, {}

    def train_step(self, batch: Batch, step: int) -> dict[str, Tensor]:
        # reuse_fake: G runs once, with its graph, in the D step a G step follows (DCGAN example's loop).
        self._keep = self.opts.reuse_fake and self.g_step_due(step)
        return super().train_step(batch, step)

    def d_step(self, batch: Batch) -> dict[str, Tensor]:
        o, D = self.opts, self.nets["D"]
        mbd = D.head[0] if o.minibatch_disc else None
        if mbd is not None and mbd.released and not bool(mbd.initialised):
            with torch.no_grad():   # the released code initialises its MBD layer on a batch of real data
                mbd(D.features(batch.x))
        if self._keep:
            lat = self.latent(batch.x.shape[0])
            kept = self.generate(**lat)
            self._kept = kept
            fake = kept.detach()
        else:
            with torch.no_grad():
                lat = self.latent(batch.x.shape[0])
                fake = self.generate(**lat)
        fake_out, extra, extra_logs = self.d_fake_pass(fake, lat)
        loss, logs = self.d_loss(D(batch.x), fake_out)
        logs = {"loss_d": loss.detach(), **logs, **extra_logs}
        loss = loss + extra
        if o.penalty != "none":
            points = (losses.interpolate(batch.x, fake) if o.penalty == "wgan-gp"
                      else losses.perturb(batch.x, o.dragan_c, noise=o.dragan_noise))
            gp = losses.gradient_penalty(D, points, one_sided=o.penalty_one_sided,
                                        scale=self.loss_scale(self.d_step_nets))
            loss = loss + o.penalty_weight * gp
            logs["gp"] = gp.detach()
        loss = loss + self._history_term("D")
        self.update_together(self.d_step_nets, loss)
        if o.clip is not None:
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-o.clip, o.clip)
        return logs

    def g_step(self, batch: Batch) -> dict[str, Tensor]:
        D = self.nets["D"]
        with self.frozen("D"):
            if self._kept is not None:
                fake, self._kept = self._kept, None
            else:
                fake = self.generate(**self.latent(batch.x.shape[0]))
            if self.opts.feature_matching:
                with torch.no_grad():
                    real_features = D.features(batch.x)
                loss = losses.feature_matching_loss(real_features, D.features(fake))
            else:
                loss = self.adversarial_g_loss(fake)
            logs = {"loss_g": loss.detach()}
            self.update("G", loss + self._history_term("G"))
        if self.opts.historical_averaging:   # both players' averages advance once per G step
            self._advance_averages()
        return logs

    # ------------------------------------------------------------------ historical averaging
    def _history_term(self, net: str) -> Tensor | float:
        w = self.opts.historical_averaging
        if not w or net not in self.averages:
            return 0.0
        return w * losses.historical_average_penalty(list(self.nets[net].parameters()), self.averages[net])

    @torch.no_grad()
    def _advance_averages(self) -> None:
        """Running mean of each player's parameters over the steps so far: mean += (theta - mean) / t."""
        self.average_count += 1
        for name in ("G", "D"):
            params = [p.detach() for p in self.nets[name].parameters()]
            if name not in self.averages:
                self.averages[name] = [p.clone() for p in params]
            else:
                torch._foreach_lerp_(self.averages[name], params, 1.0 / self.average_count)

    def extra_state(self) -> dict:
        return {"averages": self.averages, "average_count": self.average_count}

    def load_extra_state(self, state: dict) -> None:
        self.averages = {k: [t.to(self.device) for t in v] for k, v in state["averages"].items()}
        self.average_count = int(state["average_count"])
