"""Evaluation metrics: bundled classifiers as feature extractors, FID/KID/classifier score, improved
precision/recall with density/coverage, toy mode metrics, and the `Scorer` that applies those that fit a dataset."""
from .classifier import BUNDLED, ClassifierFeatures, FeatureExtractor, TorchScriptFeatures, load_classifier
from .fid import classifier_score, fid, kid
from .manifold import inter_mode_variation, intra_mode_variation, js_divergence, sample_quality
from .modes import lines_metrics, toy_mode_metrics
from .prdc import prdc
from .scorer import Scorer

__all__ = ["BUNDLED", "ClassifierFeatures", "FeatureExtractor", "TorchScriptFeatures", "load_classifier",
           "Scorer", "classifier_score", "fid", "kid", "toy_mode_metrics", "lines_metrics", "prdc",
           "inter_mode_variation", "intra_mode_variation", "js_divergence", "sample_quality"]
