"""What the class-conditional models (cgan, cvae, cvaegan) share: labelled image data, a one-hot class c next to
the noise, and networks that see c.

How c enters the networks (the same for the mlp and dcgan families):
- G(z, c): the one-hot vector is concatenated to z, so a dcgan generator's first (projection) layer reads it
  (Mirza & Osindero 2014; Bao et al. 2017, fig. 3).
- E(x, c) and a conditional D(x, c): the one-hot vector is broadcast to K constant planes of the image's size and
  concatenated to the image channels, so the first convolution sees the class at every position (the usual
  conv form of concatenating y to the input layer; an mlp net sees the planes flattened).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..data.base import Dataset
from ..errors import ConfigError, GankitError
from ..options import Options, component, opt
from .base import Batch, Model, ModelOptions

CLASS_HELP = ("a labelled image dataset: mnist, fashion-mnist, or a folder with one sub-folder per class and "
              "data.labels=subfolders")


@dataclass
class ConditionalOptions(ModelOptions):
    generator: Options = component("net", Options(name="dcgan"), "generator network G(z, c) (`gankit list`)")
    discriminator: Options = component("net", Options(name="dcgan"), "discriminator network")


def check_labelled(data: Dataset, model: str) -> int:
    """The number of classes of a labelled image dataset, or a ConfigError saying why `model` cannot use it."""
    if data.kind != "image":
        raise ConfigError(f"{model} generates images of a chosen class; dataset {data.name!r} holds 2-D points "
                          f"without classes. Use {CLASS_HELP}.")
    if data.train_labels is None or data.n_classes is None:
        hint = (" This folder was read without classes: put the images of each class in their own sub-folder "
                "and set data.labels=subfolders." if data.name == "folder" else "")
        raise ConfigError(f"{model} needs classes, and dataset {data.name!r} has no class labels.{hint} "
                          f"Use {CLASS_HELP}.")
    if data.n_classes < 2:
        raise ConfigError(f"{model} needs at least 2 classes to condition on; dataset {data.name!r} has "
                          f"{data.n_classes} ({', '.join(data.info.get('class_names', [])) or 'one class'}).")
    return int(data.n_classes)


class ConditionalModel(Model):
    """G(z, c) with a one-hot class c; `latent` draws c uniformly over the classes."""

    Options = ConditionalOptions
    conditional = True
    has_encoder = False

    def build(self, data: Dataset) -> None:
        self.n_classes = check_labelled(data, self.opts.name)
        self.class_names = list(data.info.get("class_names") or [str(k) for k in range(self.n_classes)])
        self.build_nets(data)

    def build_nets(self, data: Dataset) -> None:
        raise NotImplementedError

    def g_in_dim(self) -> int:
        return self.opts.z_dim + self.n_classes

    # ------------------------------------------------------------------ classes
    def onehot(self, y: Tensor) -> Tensor:
        return F.one_hot(y.long(), self.n_classes).float().to(self.device)

    def check_classes(self, y: Tensor, what: str = "class") -> None:
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.n_classes):
            bad = sorted({int(v) for v in y.flatten() if not 0 <= int(v) < self.n_classes})
            raise GankitError(f"{what} {bad[0] if len(bad) == 1 else bad} is out of range: this run's model "
                              f"({self.opts.name}) has {self.n_classes} classes, 0..{self.n_classes - 1} "
                              f"({', '.join(self.class_names)}).")

    def with_planes(self, x: Tensor, c: Tensor) -> Tensor:
        """Image (B, C, H, W) + one-hot (B, K) -> (B, C + K, H, W): the class as K constant planes."""
        return torch.cat([x, c[:, :, None, None].to(x.dtype).expand(-1, -1, *x.shape[2:])], 1)

    def latent(self, n: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        out = super().latent(n, generator)
        out["c"] = self.onehot(torch.randint(self.n_classes, (n,), generator=generator))
        return out

    def grid_latent(self, n: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Classes in blocks of n / K in order: with n_grid = 100 each row of the 10-wide grid is one class."""
        return self.class_latent(torch.arange(n) * self.n_classes // n, generator, check=False)

    def class_latent(self, y: Tensor, generator: torch.Generator | None = None,
                     check: bool = True) -> dict[str, Tensor]:
        """Latent inputs for samples of the given classes (B,), with fresh noise (`check`: validate the classes,
        a host sync that training steps skip)."""
        y = torch.as_tensor(y).long().flatten()
        if check:
            self.check_classes(y)
        out = Model.latent(self, len(y), generator)
        out["c"] = self.onehot(y)
        return out

    def generate(self, z: Tensor, c: Tensor) -> Tensor:
        return self.nets["G"](torch.cat([z, c.to(z.dtype)], 1))

    def batch_labels(self, batch: Batch) -> Tensor:
        if batch.y is None:
            raise GankitError(f"{self.opts.name} trains on labelled batches; this batch carries no labels.")
        return batch.y.to(self.device)

    def sample_class(self, k: int, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.sample(**self.class_latent(torch.full((n,), int(k)), generator))

    def extra_metrics(self, data, extractor=None) -> dict[str, float]:
        from ..metrics.conditional import conditional_metrics

        return conditional_metrics(self, data, extractor)


class EncoderMixin:
    """E(x, c) -> (mu, log sigma^2) over z, for the models with an encoder (cvae, cvaegan)."""

    has_encoder = True

    def encode(self, x: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.nets["E"](self.with_planes(x, c)).chunk(2, 1)
        return mu, logvar

    @staticmethod
    def reparameterize(mu: Tensor, logvar: Tensor) -> Tensor:
        """z = mu + sigma * eps (Kingma & Welling 2014, sec. 2.4)."""
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    @torch.no_grad()
    def reconstruct(self, x: Tensor, y: Tensor, target: Tensor | None = None, batch_size: int = 500) -> Tensor:
        """G(mu(x, y), target): the reconstruction (target = y) or the class transfer of real images x of classes
        y; the posterior mean, eval mode. Images in data range."""
        y = torch.as_tensor(y).long()
        target = y if target is None else torch.as_tensor(target).long()
        self.check_classes(y, "source class")
        self.check_classes(target, "target class")
        E, G = self.nets["E"], self.nets["G"]
        modes = E.training, G.training
        E.eval(), G.eval()
        try:
            out = []
            for i in range(0, len(x), batch_size):
                xb = x[i:i + batch_size].to(self.device)
                mu, _ = self.encode(xb, self.onehot(y[i:i + batch_size]))
                out.append(self.generate(mu, self.onehot(target[i:i + batch_size])))
            return torch.cat(out).float()
        finally:
            E.train(modes[0]), G.train(modes[1])
