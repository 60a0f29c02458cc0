"""Score generated samples with the metrics that fit their data, next to the floor each metric has on
real data (`Scorer`; `gankit eval` and the trainer's `train.eval_every` both use it).

Image data with a bundled classifier (mnist, fashion-mnist): FID, KID, the classifier score, improved
precision/recall + density/coverage on the classifier's penultimate features, and the DMWGAN metrics
(inter-mode JSD of class histograms, intra-mode mean squared geodesic distance, share of confident samples).
Other image data: precision, recall, density and coverage on raw pixels. ring / grid: the PacGAN-protocol
mode metrics; lines: off-manifold share and total variation of the per-segment mass.
The floor of each metric is the same metric for real held-out data against the training data.
"""
from __future__ import annotations

import torch

from ..errors import GankitError
from .classifier import BUNDLED, ClassifierFeatures
from .fid import classifier_score, fid, kid
from .manifold import class_balance, inter_mode_variation, intra_mode_variation, sample_quality
from .modes import lines_metrics, toy_mode_metrics
from .prdc import prdc

IMAGE_METRICS = ("fid", "kid", "cs", "prdc", "classes", "dmwgan")
TOY_METRICS = ("modes", "lines")
ALL = IMAGE_METRICS + TOY_METRICS + ("domains", "translation")


def applicable(data_name: str, kind: str) -> tuple[str, ...]:
    """The metrics that can score runs on this dataset."""
    if kind == "pair":   # two domains: the translation model scores itself (metrics/translation.py)
        return ("translation",)
    if kind == "points":
        return ("modes",) if data_name in ("ring", "grid") else ("lines",) if data_name == "lines" else ()
    if data_name == "digits+fashion":
        return ("prdc", "domains")
    return IMAGE_METRICS if data_name in BUNDLED else ("prdc",)


def choose(data_name: str, kind: str, wanted: list[str] | None) -> tuple[str, ...]:
    ok = applicable(data_name, kind)
    if wanted is not None and len(wanted) == 0:
        return ()   # none on generated samples: only the model's own scores (e.g. ssgan's test error)
    if not wanted:
        if not ok:
            raise GankitError(f"No metric applies to {data_name!r} runs yet. Metrics: " + ", ".join(ALL) + ".")
        return ok
    for m in wanted:
        if m not in ALL:
            raise GankitError(f"Unknown metric {m!r}. Metrics: fid, kid, cs (classifier score), prdc "
                              "(precision, recall, density, coverage), classes (the classifier's class shares: "
                              "smallest, largest, total variation from the data's), dmwgan (inter-/intra-mode "
                              "variation, sample quality), modes (ring/grid toys), lines (lines toy), domains "
                              "(digits+fashion: share of digits, garments and in-between samples).")
        if m not in ok:
            needs = {"prdc": "image data", "modes": "ring/grid data", "lines": "lines data",
                     "domains": "the digits+fashion mixture", "translation": "two-domain (pair) data"}
            why = (f"it is for {needs[m]}" if m in needs else
                   "it needs a bundled classifier, which exists for " + ", ".join(BUNDLED))
            raise GankitError(f"Metric {m!r} does not apply to {data_name!r}: {why}. "
                              f"Metrics that apply: {', '.join(ok) or 'none yet'}.")
    return tuple(wanted)


class Scorer:
    """Scores generated samples against a dataset with the chosen metrics; real-data features are
    computed once, so the trainer can call it every few thousand steps (FID-over-time curves)."""

    def __init__(self, data, data_name: str, metrics: list[str] | None = None, n: int = 10_000):
        self.data, self.n = data, n
        self.metrics = choose(data_name, data.kind, metrics)
        self._domains = None
        if "domains" in self.metrics:
            from .domains import DomainClassifier

            self._domains = DomainClassifier()
        if data.kind in ("points", "pair") or not self.metrics:
            self.extractor = None
            return
        self.extractor = ClassifierFeatures(data_name, device="cpu") if data_name in BUNDLED else None
        reference = data.train[:n]
        self.real_f = self.extractor.features(reference) if self.extractor else reference.flatten(1)

    def __call__(self, samples: torch.Tensor) -> dict[str, float]:
        samples = samples.cpu()
        if not self.metrics or self.data.kind == "pair":   # pair: the model's extra_metrics score it
            return {}
        if self.data.kind == "points":
            info = self.data.info
            if "lines" in self.metrics:
                m = lines_metrics(samples[:2500], info["segments"], info["weights"], std=float(info["std"]))
                return {"off_manifold": m["off_manifold"], "mass_tv": m["total_variation"]}
            return toy_mode_metrics(samples[:2500], info["centers"], float(info["std"]), weights=info.get("weights"))
        out: dict[str, float] = {}
        if self.extractor is None:
            if self._domains is not None:
                out.update(self._domains.shares(samples))
            return {**out, **prdc(self.real_f, samples.flatten(1))} if "prdc" in self.metrics else out
        fake_f, fake_p = self.extractor.features_and_probs(samples)
        if "fid" in self.metrics:
            out["fid"] = fid(self.real_f, fake_f)
        if "kid" in self.metrics:
            out["kid"], out["kid_std"] = kid(self.real_f, fake_f)
        if "cs" in self.metrics:
            out["classifier_score"] = classifier_score(fake_p)[0]
        if "prdc" in self.metrics:
            out.update(prdc(self.real_f, fake_f))
        if "classes" in self.metrics:   # mode collapse at the class level, by the bundled classifier
            out.update(class_balance(fake_p, self.data.train_labels))
        if "dmwgan" in self.metrics:   # Khayatkhoei et al. 2018, sec. 3.2
            labels = fake_p.argmax(1)
            out["inter_mode_jsd"] = inter_mode_variation(fake_p, self.data.train_labels, fake_p.shape[1])
            out["intra_mode_var"] = intra_mode_variation(fake_f, labels, skip_small=True)["mean"]
            out["sample_quality"] = sample_quality(fake_p)
        return out

    def floor(self) -> dict[str, float]:
        """The same metrics for real held-out data (the test split) in place of generated samples."""
        test = self.data.test
        if self.data.kind == "pair":
            return {}
        if self.data.kind == "points":
            # The floor needs as many real points as the protocol's 2,500 samples to be meaningful.
            return self(test if test is not None and len(test) >= 2500 else self.data.train)
        return self(test[:self.n]) if test is not None else {}
