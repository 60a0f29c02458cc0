"""Semi-supervised GAN (Salimans et al. 2016, "Improved Techniques for Training GANs", sec. 5).

D is a K-class classifier; the fake class is implicit (its logit is 0), so D(x) = Z(x) / (Z(x) + 1) with
Z(x) = sum_k exp(l_k(x)). D minimises the supervised cross-entropy on a few labelled images plus the
unsupervised GAN loss on unlabelled and generated images (eq. 6); G is trained by feature matching on D's
last hidden layer (sec. 3.1). Networks and settings follow the authors' released MNIST code
(openai/improved-gan, mnist_svhn_cifar10/train_mnist_feature_matching.py):
- D: MLP 784-1000-500-250-250-250-10, ReLU, weight normalisation with data-dependent initialisation
  (Salimans & Kingma 2016), Gaussian noise of std 0.3 on the input and 0.5 after each hidden layer;
- G: MLP 100-500-500-784, batch norm + softplus, weight-normalised sigmoid output, U(0, 1) noise;
- Adam lr 0.003, beta1 0.5 (denominator sqrt(v + 1e-8), the Theano code's form), batch 100 labelled + 100 unlabelled (+ 100 generated), 300 epochs
  at a constant rate (the MNIST script has no schedule; the hold-then-decay one is the CIFAR-10 script's);
- the test error is measured with a running average of D's parameters (rate 1e-4), without the noise.

`unlabeled_weight: 0` turns the model into the supervised-only baseline: the same classifier on the same
labelled subset, no generator updates.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Literal, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import losses
from ..options import Options, opt
from .optim import OptimConfig
from ..errors import ConfigError
from ..registry import register
from .base import Batch, Model
from .labelled import _Cycle, labelled_subset  # noqa: F401  (labelled_subset: also imported from here)


@dataclass
class SSGANOptions(Options):
    labels_per_class: int = opt(10, "labelled images per class (paper: 10 on MNIST, i.e. 100 labels)")
    label_seed: Optional[int] = opt(None, "seed of the labelled subset; None = the run's train.seed")
    label_draw: Literal["torch", "numpy"] = opt(
        "torch", "how label_seed permutes the training set before the first labels_per_class of each class are "
                 "taken: torch, or numpy's RandomState as the released code (with label_seed 1, its --seed_data "
                 "default, its own labelled MNIST images)")
    unlabeled_weight: float = opt(1.0, "weight of the unsupervised loss; 0 = supervised-only baseline")
    z_dim: int = opt(100, "size of the noise vector z (paper: 100, U(0, 1))")
    noise: Literal["uniform01", "uniform", "normal"] = opt("uniform01", "distribution of z")
    d_hidden: list[int] = opt([1000, 500, 250, 250, 250], "D's hidden widths (paper, MNIST)")
    g_hidden: list[int] = opt([500, 500], "G's hidden widths (paper, MNIST)")
    input_noise: float = opt(0.3, "std of the Gaussian noise on D's input (images in [0, 1])")
    hidden_noise: float = opt(0.5, "std of the Gaussian noise after each of D's hidden layers")
    weight_norm_init: int = opt(500, "unlabelled images for the data-dependent init of D's weight norm; 0 = off")
    avg_rate: float = opt(1e-4, "rate of the running average of D's parameters used for the test error; 0 = off")
    fm_reduction: Literal["mean", "sum"] = opt("mean", "feature matching: mean (authors' code) or sum of squares")
    # The code's Adam divides by sqrt(v + 1e-8): once D wins, its tiny gradients then take tiny steps.
    optim_g: OptimConfig = opt(OptimConfig(lr=3e-3, betas=(0.5, 0.999), eps_in_sqrt=True),
                               "generator optimizer (code: Adam 3e-3, beta1 0.5, eps inside the sqrt)")
    optim_d: OptimConfig = opt(OptimConfig(lr=3e-3, betas=(0.5, 0.999), eps_in_sqrt=True),
                               "discriminator optimizer (code: Adam 3e-3, beta1 0.5, eps inside the sqrt)")

    n_critic = 1   # one D step and one G step per batch (not an option)

    def check(self, path: str) -> None:
        if isinstance(self.labels_per_class, bool) or self.labels_per_class <= 0:
            raise ConfigError(f"{path}.labels_per_class must be at least 1 labelled image per class, got "
                              f"{self.labels_per_class!r}. (A GAN without labels: use the gan model.)")
        if self.unlabeled_weight < 0:
            raise ConfigError(f"{path}.unlabeled_weight must be >= 0, got {self.unlabeled_weight}.")
        if self.z_dim <= 0:
            raise ConfigError(f"{path}.z_dim must be positive, got {self.z_dim}.")
        for name in ("d_hidden", "g_hidden"):
            widths = getattr(self, name)
            if not widths or any(isinstance(w, bool) or not isinstance(w, int) or w <= 0 for w in widths):
                raise ConfigError(f"{path}.{name} must be a non-empty list of positive widths, got {widths!r}.")
        for name in ("input_noise", "hidden_noise", "avg_rate"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{path}.{name} must be >= 0, got {getattr(self, name)}.")
        if self.avg_rate >= 1:
            raise ConfigError(f"{path}.avg_rate must be below 1 (paper: 1e-4), got {self.avg_rate}.")
        if self.weight_norm_init < 0:
            raise ConfigError(f"{path}.weight_norm_init must be >= 0 images, got {self.weight_norm_init}.")


# ----------------------------------------------------------------------------------------------- networks
class WNLinear(nn.Module):
    """Weight-normalised dense layer (Salimans & Kingma 2016, eq. 2: w = g v / ||v||). As in the authors'
    MNIST code the scale g is trained only where asked (D's output layer) and is otherwise set once by the
    data-dependent initialisation."""

    def __init__(self, n_in: int, n_out: int, train_scale: bool = False, init_std: float = 0.1):
        super().__init__()
        self.v = nn.Parameter(torch.randn(n_out, n_in) * init_std)
        scale = torch.ones(n_out)
        if train_scale:
            self.g = nn.Parameter(scale)
        else:
            self.register_buffer("g", scale)
        self.b = nn.Parameter(torch.zeros(n_out))

    def weight(self) -> Tensor:
        return self.v * (self.g / self.v.norm(dim=1)).unsqueeze(1)

    def forward(self, x: Tensor) -> Tensor:
        # x (g v / |v|)^T = (x v^T) * g / |v|: scaling the outputs avoids materialising the normalised matrix
        # and its gradient (the same function, ~20% faster on CPU).
        return torch.addcmul(self.b, F.linear(x, self.v), self.g / self.v.norm(dim=1))

    @torch.no_grad()
    def init_from(self, x: Tensor) -> Tensor:
        """Data-dependent init (Salimans & Kingma 2016, sec. 3): pre-activations on a batch get zero mean and
        unit variance per unit: g <- g / sigma, b <- -mu / sigma. Returns the normalised pre-activations."""
        a = F.linear(x, self.weight())
        mu = a.mean(0)
        sigma = (a - mu).pow(2).mean(0).sqrt().clamp_min(1e-8)
        self.g.div_(sigma)
        self.b.copy_(-mu / sigma)
        return (a - mu) / sigma


class NoisyMLPClassifier(nn.Module):
    """The paper's MNIST discriminator: Gaussian noise on the input and after each ReLU hidden layer,
    weight-normalised dense layers, K logits. `features` is the last hidden layer (feature matching)."""

    def __init__(self, n_in: int, hidden: list[int], n_classes: int, input_noise: float, hidden_noise: float):
        super().__init__()
        widths = [n_in] + list(hidden)
        self.hidden = nn.ModuleList(WNLinear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.out = WNLinear(widths[-1], n_classes, train_scale=True)
        self.input_noise, self.hidden_noise = input_noise, hidden_noise

    def _noise(self, h: Tensor, std: float) -> Tensor:
        return h + std * torch.randn_like(h) if self.training and std > 0 else h

    def forward(self, x: Tensor, features: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        h = self._noise(x.flatten(1), self.input_noise)
        for i, layer in enumerate(self.hidden):
            f = F.relu(layer(h))
            h = self._noise(f, self.hidden_noise)
        logits = self.out(h)
        return (logits, f) if features else logits

    def hidden_features(self, x: Tensor) -> Tensor:
        """The last hidden layer's ReLU output (before its noise), without computing the logits."""
        h = self._noise(x.flatten(1), self.input_noise)
        for i, layer in enumerate(self.hidden):
            f = F.relu(layer(h))
            if i + 1 < len(self.hidden):
                h = self._noise(f, self.hidden_noise)
        return f

    @torch.no_grad()
    def init_from(self, x: Tensor) -> None:
        """Data-dependent init layer by layer, with the training noise on (as the authors' init pass)."""
        h = self._noise(x.flatten(1), self.input_noise)
        for layer in self.hidden:
            h = self._noise(F.relu(layer.init_from(h)), self.hidden_noise)
        self.out.init_from(h)


class SoftplusMLPGenerator(nn.Module):
    """The paper's MNIST generator: dense + batch norm (no scale, a learned shift) + softplus per hidden
    layer, a weight-normalised dense layer with a sigmoid output; images in [0, 1]."""

    def __init__(self, z_dim: int, hidden: list[int], out_shape: tuple[int, ...]):
        super().__init__()
        widths = [z_dim] + list(hidden)
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            lin = nn.Linear(a, b, bias=False)
            nn.init.xavier_uniform_(lin.weight)    # Lasagne's default (Glorot uniform)
            layers += [lin, nn.BatchNorm1d(b, affine=False, eps=1e-6), _Shift(b), nn.Softplus()]
        self.body = nn.Sequential(*layers)
        n_out = math.prod(out_shape)
        self.out = WNLinear(widths[-1], n_out, train_scale=True)
        with torch.no_grad():   # Glorot-uniform direction, unit-norm scale (the code's l2normalize layer)
            nn.init.xavier_uniform_(self.out.v)
        self.out_shape = tuple(out_shape)

    def forward(self, z: Tensor) -> Tensor:
        return torch.sigmoid(self.out(self.body(z))).view(-1, *self.out_shape)


class _Shift(nn.Module):
    def __init__(self, n: int):
        super().__init__()
        self.b = nn.Parameter(torch.zeros(n))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.b


# ----------------------------------------------------------------------------------------------- data
# ----------------------------------------------------------------------------------------------- model
@register("model", "ssgan", SSGANOptions,
          "Semi-supervised GAN, Salimans et al. 2016 sec. 5 (K-class D, feature-matching G)")
class SSGAN(Model):
    Options = SSGANOptions

    def build(self, data) -> None:
        o = self.opts
        if data.kind != "image" or data.train_labels is None or data.n_classes is None:
            raise ConfigError(f"ssgan needs a labelled image dataset (mnist, fashion-mnist); "
                              f"{data.name!r} has no class labels.")
        if data.test is None or data.test_labels is None:
            raise ConfigError(f"ssgan measures test accuracy, but {data.name!r} has no labelled test split.")
        # torch.initial_seed() is the run's train.seed (the trainer seeds before building the model).
        seed = o.label_seed if o.label_seed is not None else torch.initial_seed() % 2**31
        self.label_seed = int(seed)
        self.labelled = labelled_subset(data.train_labels, o.labels_per_class, data.n_classes, self.label_seed,
                                        draw=o.label_draw)
        # Images in [-1, 1] (toolkit convention) -> [0, 1], the range of the paper's noise levels and sigmoid G.
        self._x_lab = ((data.train[self.labelled] + 1) / 2).flatten(1).to(self.device)
        self._y_lab = data.train_labels[self.labelled].to(self.device)
        self._x_unl = ((data.train + 1) / 2).flatten(1).to(self.device)
        self._all_labels = data.train_labels.to(self.device)
        self._test = (data.test.to(self.device), data.test_labels.to(self.device))   # classify() takes [-1, 1]
        n_in = math.prod(self.sample_shape)
        D = NoisyMLPClassifier(n_in, o.d_hidden, data.n_classes, o.input_noise, o.hidden_noise)
        if o.weight_norm_init:
            pick = torch.randperm(len(self._x_unl))[:o.weight_norm_init]
            D.init_from(self._x_unl[pick].cpu())
        self.nets["D"] = D
        self.nets["G"] = SoftplusMLPGenerator(o.z_dim, o.g_hidden, self.sample_shape)
        avg = copy.deepcopy(D)
        for p in avg.parameters():
            p.requires_grad_(False)
        self.nets["D_avg"] = avg.eval()
        self.avg_count = 0
        self.best_error = float("nan")
        seed_streams = self.label_seed + 1
        self._lab_stream = _Cycle(len(self.labelled), 0, seed_streams)   # batch size set at first step
        self._unl2_stream = _Cycle(len(self._x_unl), 0, seed_streams + 1)

    def build_optimizers(self) -> None:
        o = self.opts
        self.add_optimizer("D", o.optim_d, self.nets["D"].parameters(), self.horizon)
        if o.unlabeled_weight > 0:
            self.add_optimizer("G", o.optim_g, self.nets["G"].parameters(), self.horizon)

    def latent(self, n: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        if self.opts.noise == "uniform01":
            return {"z": torch.rand((n, self.opts.z_dim), generator=generator).to(self.device)}
        return super().latent(n, generator)

    def _g01(self, z: Tensor) -> Tensor:
        return self.nets["G"](z)

    def generate(self, z: Tensor, **codes: Tensor) -> Tensor:
        return self._g01(z) * 2 - 1

    # ------------------------------------------------------------------ training
    def _batch(self, stream: _Cycle, n: int) -> Tensor:
        return stream.take(n).to(self.device)

    def train_step(self, batch: Batch, step: int) -> dict[str, Tensor]:
        o, D = self.opts, self.nets["D"]
        n = batch.x.shape[0]
        x_unl = ((batch.x + 1) / 2).flatten(1)
        idx = self._batch(self._lab_stream, n)
        x_lab, y_lab = self._x_lab[idx], self._y_lab[idx]
        out: dict[str, Tensor] = {}
        if o.unlabeled_weight > 0:
            with torch.no_grad():
                fake = self._g01(self.latent(n)["z"]).flatten(1)
            # One forward pass for the three parts: D has no batch statistics, so this equals three passes.
            logits = D(torch.cat([x_lab, x_unl, fake]))
            l_lab, l_unl, l_fake = logits.split(n)
            loss_lab = losses.supervised_loss(l_lab, y_lab)
            loss_unl = losses.unsupervised_loss(l_unl, l_fake)
            self.update("D", loss_lab + o.unlabeled_weight * loss_unl)
            out["d_unsup"] = loss_unl.detach()
        else:
            l_lab = D(x_lab)
            loss_lab = losses.supervised_loss(l_lab, y_lab)
            self.update("D", loss_lab)
        out["d_sup"] = loss_lab.detach()
        out["train_err"] = (l_lab.detach().argmax(1) != y_lab).float().mean()
        self._update_average()
        if o.unlabeled_weight > 0:
            out.update(self.g_step(n))
        return out

    def g_step(self, n: int) -> dict[str, Tensor]:
        """Feature matching (sec. 3.1) against a second, independent unlabelled batch (as the code does)."""
        D = self.nets["D"]
        x_real = self._x_unl[self._batch(self._unl2_stream, n)]
        fake = self._g01(self.latent(n)["z"]).flatten(1)
        with torch.no_grad():   # G's loss needs no gradient through the real half
            f_real = D.hidden_features(x_real)
        with self.frozen("D"):
            loss = losses.feature_matching_loss(f_real, D.hidden_features(fake), reduction=self.opts.fm_reduction)
        self.update("G", loss)
        return {"g_fm": loss.detach()}

    @torch.no_grad()
    def _update_average(self) -> None:
        """Running average of D's parameters (the code's rate 1e-4), bias-corrected: after t updates the
        average weighs step i by r (1 - r)^(t - i) / (1 - (1 - r)^t), so early evaluations are unbiased too
        (the code starts the average at zero and reports its first epochs with shrunken weights)."""
        r = self.opts.avg_rate
        if r == 0:
            return
        self.avg_count += 1
        w = r / (1 - (1 - r) ** self.avg_count)
        src, dst = self.nets["D"].state_dict(), self.nets["D_avg"].state_dict()
        keys = list(src)
        torch._foreach_lerp_([dst[k] for k in keys], [src[k] for k in keys], w)

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def classify(self, x: Tensor, averaged: bool = True, batch_size: int = 2000) -> Tensor:
        """Class predictions for images in [-1, 1], without the training noise."""
        net = self.nets["D_avg"] if averaged and self.opts.avg_rate > 0 and self.avg_count else self.nets["D"]
        was = net.training
        net.eval()
        try:
            x01 = ((x.to(self.device) + 1) / 2).flatten(1)
            return torch.cat([net(x01[i:i + batch_size]).argmax(1) for i in range(0, len(x01), batch_size)])
        finally:
            net.train(was)

    @torch.no_grad()
    def test_error(self, averaged: bool = True) -> float:
        x, y = self._test
        return (self.classify(x, averaged) != y).float().mean().item()

    def extra_metrics(self, data, extractor=None) -> dict[str, float]:
        err = self.test_error(averaged=True)
        out = {"test_error": err, "test_error_raw": self.test_error(averaged=False)}
        if not math.isfinite(self.best_error) or err < self.best_error:
            self.best_error = err
        out["best_test_error"] = self.best_error
        out["labels"] = float(len(self.labelled))
        return out

    # ------------------------------------------------------------------ state
    def extra_state(self) -> dict:
        return {"avg_count": self.avg_count, "best_error": self.best_error, "label_seed": self.label_seed,
                "labelled": self.labelled.cpu(), "lab_stream": self._lab_stream.state_dict(),
                "unl2_stream": self._unl2_stream.state_dict(),
                "stream_batch": self._lab_stream.batch_size}

    def load_extra_state(self, state: dict) -> None:
        if not state:
            return
        # The checkpoint's labelled subset wins (load_run rebuilds the model without the run's seed).
        self.label_seed, self.labelled = int(state["label_seed"]), state["labelled"].cpu()
        self._x_lab = self._x_unl[self.labelled.to(self.device)]
        self._y_lab = self._all_labels[self.labelled.to(self.device)]
        self.avg_count, self.best_error = int(state["avg_count"]), float(state["best_error"])
        for stream, key in ((self._lab_stream, "lab_stream"), (self._unl2_stream, "unl2_stream")):
            stream.batch_size = int(state["stream_batch"])
            stream.load_state_dict(state[key])
