"""CVAE-GAN (Bao et al. 2017, "Fine-Grained Image Generation through Asymmetric Training").

Four networks: encoder E(x, c) -> (mu, log sigma^2), generator G(z, c), classifier C(x) -> class logits with
features f_C, discriminator D(x) -> real/fake with features f_D (D and C do not see c). Per step, in the order
of Algorithm 1 (sec. 3.5): C on real labelled images (L_C), D on real images against reconstructions
x_f = G(E(x, c), c) and prior samples x_p = G(z, c) (L_D), then G and E. "Asymmetric": G never takes the raw
D/C losses; it matches features: pairwise on reconstructions (L_G, with E), the mean of f_D (L_GD) and the
per-class means of f_C against moving-average class centres (L_GC) on prior samples.

  G minimises lambda_2 L_G + lambda_3 L_GD + lambda_4 L_GC;  E minimises lambda_1 L_KL + lambda_2 L_G.

Both gradients come from one backward pass of lambda_1 L_KL + lambda_2 L_G + lambda_3 L_GD + lambda_4 L_GC:
L_KL does not depend on G, and L_GD, L_GC (prior samples) not on E.

Beyond the paper: `labels: N` trains with N labelled images (balanced over the classes); C learns from those
alone and the class of every other image is C's prediction, as the semi-supervised VAE (Kingma et al. 2014)
infers the label of unlabelled data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

from ..errors import ConfigError
from ..losses.conditional import (class_mean_feature_matching, classifier_loss, cvaegan_d_loss, kl_loss,
                                  mean_feature_matching, pairwise_feature_matching, update_class_centres)
from ..nets import build_discriminator, build_generator
from ..options import Options, component, opt
from ..registry import register
from .base import Batch
from .conditional import ConditionalModel, ConditionalOptions, EncoderMixin
from .labelled import _Cycle, labelled_subset
from .optim import OptimConfig

ADAM = OptimConfig(lr=2e-4, betas=(0.5, 0.999))


@dataclass
class CVAEGANOptions(ConditionalOptions):
    encoder: Options = component("net", Options(name="dcgan"), "encoder network E(x, c) -> (mu, log sigma^2)")
    classifier: Options = component("net", Options(name="dcgan"), "classifier network C(x) -> class logits")
    optim_g: OptimConfig = opt(ADAM, "generator optimizer (DCGAN's Adam; the paper does not give one)")
    optim_d: OptimConfig = opt(ADAM, "discriminator optimizer")
    optim_e: OptimConfig = opt(ADAM, "encoder optimizer")
    optim_c: OptimConfig = opt(ADAM, "classifier optimizer")
    kl_weight: float = opt(3.0, "lambda_1, weight of L_KL (paper: 3)")
    rec_weight: float = opt(1.0, "lambda_2, weight of L_G, pairwise feature matching on reconstructions (paper: 1)")
    gd_weight: float = opt(1e-3, "lambda_3, weight of L_GD, mean feature matching against D (paper: 1e-3)")
    gc_weight: float = opt(1e-3, "lambda_4, weight of L_GC, per-class mean feature matching against C (paper: 1e-3)")
    centre_decay: float = opt(0.99, "moving-average rate of the real class centres of f_C in L_GC (not given in "
                                    "the paper)")
    labels: Optional[int] = opt(None, "beyond the paper: train with only N labelled images (a multiple of the "
                                      "number of classes, balanced); the others' classes are C's predictions. "
                                      "null: every label")
    label_seed: Optional[int] = opt(None, "seed of the labelled subset (null: the run's train.seed)")

    def check(self, path: str) -> None:
        super().check(path)
        for name in ("kl_weight", "rec_weight", "gd_weight", "gc_weight"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{path}.{name} must be >= 0, got {getattr(self, name)}.")
        if not 0 <= self.centre_decay < 1:
            raise ConfigError(f"{path}.centre_decay must be in [0, 1), got {self.centre_decay}.")
        if self.labels is not None and (isinstance(self.labels, bool) or self.labels <= 0):
            raise ConfigError(f"{path}.labels must be a positive number of labelled images (or null for all), "
                              f"got {self.labels!r}.")


@register("model", "cvaegan", CVAEGANOptions,
          "CVAE-GAN, Bao et al. 2017 (class-conditional, asymmetric feature-matching training)")
class CVAEGAN(EncoderMixin, ConditionalModel):
    Options = CVAEGANOptions

    def build_nets(self, data) -> None:
        o, k, (c, h, w) = self.opts, self.n_classes, self.sample_shape
        self.nets["G"] = build_generator(o.generator, self.g_in_dim(), self.sample_shape, data.kind)
        self.nets["E"] = build_discriminator(o.encoder, (c + k, h, w), 2 * o.z_dim, data.kind)
        self.nets["D"] = build_discriminator(o.discriminator, self.sample_shape, 1, data.kind)
        self.nets["C"] = build_discriminator(o.classifier, self.sample_shape, k, data.kind)
        self.centres = torch.zeros(k, self.nets["C"].feature_dim, device=self.device)
        self.seen = torch.zeros(k, dtype=torch.bool, device=self.device)
        self.labelled = None
        if o.labels is not None and self.device.type != "meta":
            self._labelled_subset(data)

    def _labelled_subset(self, data) -> None:
        o, k = self.opts, self.n_classes
        if o.labels % k or o.labels < k:
            raise ConfigError(f"model.labels = {o.labels}: the labelled images are balanced over the {k} classes, "
                              f"so give a multiple of {k} (e.g. {k * max(1, round(o.labels / k))}).")
        # torch.initial_seed() is the run's train.seed (the trainer seeds before building the model).
        self.label_seed = int(o.label_seed if o.label_seed is not None else torch.initial_seed() % 2**31)
        self.labelled = labelled_subset(data.train_labels, o.labels // k, k, self.label_seed, "model.labels")
        self._x_lab = data.train[self.labelled].to(self.device)
        self._y_lab = data.train_labels[self.labelled].to(self.device)
        self._lab_stream = _Cycle(len(self.labelled), 0, self.label_seed + 1)   # batch size set at first step

    def build_optimizers(self) -> None:
        o = self.opts
        for name in ("G", "E", "D", "C"):
            self.add_optimizer(name, getattr(o, f"optim_{name.lower()}"), self.nets[name].parameters(),
                               self.g_horizon if name in ("G", "E") else self.horizon)

    # ------------------------------------------------------------------ training
    def _labelled_batch(self, n: int) -> tuple[Tensor, Tensor]:
        idx = self._lab_stream.take(n).to(self.device)
        return self._x_lab[idx], self._y_lab[idx]

    def train_step(self, batch: Batch, step: int) -> dict[str, Tensor]:
        o, D, C = self.opts, self.nets["D"], self.nets["C"]
        x = batch.x
        # 1. C on real labelled images only (Bao et al. 2017, sec. 3.3, L_C)
        if self.labelled is None:
            y = self.batch_labels(batch)
            x_lab, y_lab = x, y
        else:
            x_lab, y_lab = self._labelled_batch(x.shape[0])
        logits = C(x_lab)
        loss_c = classifier_loss(logits, y_lab)
        self.update("C", loss_c)
        out = {"loss_c": loss_c.detach(), "acc_c": (logits.detach().argmax(1) == y_lab).float().mean()}
        if self.labelled is not None:   # the class of an unlabelled image: C's prediction
            with torch.no_grad():
                y = C(x).argmax(1)
        c = self.onehot(y)
        # reconstructions x_f = G(E(x, c), c) and prior samples x_p = G(z_p, c), once for D's and G's steps
        # (with gradients only when G and E update after this D step)
        due = self.g_step_due(step)
        with torch.set_grad_enabled(due):
            mu, logvar = self.encode(x, c)
            z_p = self.class_latent(y, check=False)["z"]
            # one pass of G over both, so that its batch statistics (and their running averages, used when
            # sampling) are those of posterior and prior codes together
            x_f, x_p = self.generate(torch.cat([self.reparameterize(mu, logvar), z_p]), torch.cat([c, c])).chunk(2)
        # 2. D: real against reconstructions and prior samples (sec. 3.5, Algorithm 1, L_D)
        real_out, fake_out = D(x), D(torch.cat([x_f.detach(), x_p.detach()]))
        rec_out, prior_out = fake_out.chunk(2)
        loss_d = cvaegan_d_loss(real_out, rec_out, prior_out)
        self.update("D", loss_d)
        out.update(loss_d=loss_d.detach(), d_real=real_out.detach().sigmoid().mean(),
                   d_rec=rec_out.detach().sigmoid().mean(), d_prior=prior_out.detach().sigmoid().mean())
        if due:
            out.update(self._generator_step(x, y, x_f, x_p, mu, logvar))
        return out

    def _generator_step(self, x: Tensor, y: Tensor, x_f: Tensor, x_p: Tensor, mu: Tensor,
                        logvar: Tensor) -> dict[str, Tensor]:
        """3-4. G and E on the feature-matching losses (sec. 3.4-3.5), D and C frozen. One pass of D and C over
        real, reconstructed and prior images together, so the three share batch statistics."""
        o, D, C = self.opts, self.nets["D"], self.nets["C"]
        with self.frozen("D", "C"):
            both = torch.cat([x, x_f, x_p])
            fd_real, fd_rec, fd_prior = D.features(both).chunk(3)
            fc_real, fc_rec, fc_prior = C.features(both).chunk(3)
            l_g = pairwise_feature_matching(x, x_f, fd_real.detach(), fd_rec, fc_real.detach(), fc_rec)
            l_gd = mean_feature_matching(fd_real.detach(), fd_prior)
            self.centres, self.seen = update_class_centres(self.centres, self.seen, fc_real, y, o.centre_decay)
            l_gc = class_mean_feature_matching(self.centres, self.seen, fc_prior, y)
            kl = kl_loss(mu, logvar)
            loss = o.kl_weight * kl + o.rec_weight * l_g + o.gd_weight * l_gd + o.gc_weight * l_gc
            self.update_together(("G", "E"), loss)
        return {"loss_g": loss.detach(), "kl": kl.detach(), "l_g": l_g.detach(), "l_gd": l_gd.detach(),
                "l_gc": l_gc.detach(), "rec_mse": (x - x_f).detach().pow(2).mean()}

    # ------------------------------------------------------------------ state
    def extra_state(self) -> dict:
        state = {"centres": self.centres, "seen": self.seen}
        if self.labelled is not None:
            state["labelled"] = self.labelled
            state["lab_stream"] = self._lab_stream.state_dict()
            state["lab_batch"] = self._lab_stream.batch_size
        return state

    def load_extra_state(self, state: dict) -> None:
        if "centres" in state:
            self.centres = state["centres"].to(self.device)
            self.seen = state["seen"].to(self.device)
        if self.labelled is not None and "lab_stream" in state:
            if not torch.equal(state["labelled"].cpu(), self.labelled.cpu()):
                raise ConfigError("The checkpoint's labelled subset differs from the one this config selects "
                                  "(model.labels, model.label_seed or the data changed); resume with the run's "
                                  "own settings.")
            self._lab_stream.batch_size = int(state["lab_batch"])
            self._lab_stream.load_state_dict(state["lab_stream"])
