"""Which dataset of the digits+fashion mixture a generated image belongs to. A domain classifier (digits
vs garments: logistic regression on pixels, fitted once per process on the mixture's training images,
seeded; >99.5% test accuracy) picks the dataset; the sample counts as a digit (a garment) when the
domain classifier is sure (p >= `domain_threshold`) and that dataset's bundled classifier is confident
(max class probability >= `threshold`, the confidence the DMWGAN authors' evaluation requires).
Everything else is "in-between": the samples a single generator puts between the two disjoint manifolds
(Khayatkhoei et al. 2018, sec. 4). Per-dataset classifiers alone cannot tell: each is confidently wrong
on a good share of the other dataset's real images."""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

from .classifier import ClassifierFeatures

THRESHOLD = 0.8


@functools.lru_cache(maxsize=1)
def domain_classifier(seed: int = 0) -> tuple[Tensor, Tensor]:
    """(w, b) of a logistic regression P(fashion | x) on 784 pixels in [-1, 1]."""
    from ..config import load_config
    from ..data import load_dataset

    data = load_dataset(load_config({"model": {"name": "gan"}, "data": {"name": "digits+fashion"},
                                     "train": {"steps": 1}}).data)
    x, y = data.train.flatten(1), (data.train_labels >= 10).float()
    g = torch.Generator().manual_seed(seed)
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=0.01)
    with torch.enable_grad():
        for _ in range(3):   # three passes of batch 500 reach >99.5% on the test split
            for idx in torch.randperm(len(x), generator=g).split(500):
                loss = F.binary_cross_entropy_with_logits(x[idx] @ w + b, y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
    return w.detach(), b.detach()


class DomainClassifier:
    def __init__(self, threshold: float = THRESHOLD, domain_threshold: float = 0.9, device: str = "cpu"):
        self.threshold, self.domain_threshold = threshold, domain_threshold
        self.nets = [ClassifierFeatures("mnist", device=device), ClassifierFeatures("fashion-mnist", device=device)]
        self.w, self.b = domain_classifier()

    @torch.no_grad()
    def assign(self, x: Tensor) -> Tensor:
        """Per image: 0 = digit, 1 = garment, 2 = in-between."""
        x = x.detach().float().cpu()
        p_fashion = torch.sigmoid(x.flatten(1) @ self.w + self.b)
        domain = (p_fashion >= 0.5).long()
        sure = torch.maximum(p_fashion, 1 - p_fashion) >= self.domain_threshold
        conf = torch.stack([net.features_and_probs(x)[1].max(1).values for net in self.nets], 1)
        confident = conf.gather(1, domain[:, None])[:, 0] >= self.threshold
        return torch.where(sure & confident, domain, torch.full_like(domain, 2))

    def shares(self, x: Tensor) -> dict[str, float]:
        a = self.assign(x)
        return {"digits": float((a == 0).float().mean()), "fashion": float((a == 1).float().mean()),
                "in_between": float((a == 2).float().mean())}
