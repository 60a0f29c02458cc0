"""gankit: train, evaluate and compare the classic GAN family, offline, faithful to each paper.

    import gankit
    result = gankit.train("dcgan-mnist", ["train.steps=500"])
    images = gankit.sample(result.run_dir, n=16)
"""
from . import data, models, nets  # noqa: F401  (importing the component packages fills the registry)
from .config import Config, load_config
from .engine.check import check
from .engine.api import branch, resume, train
from .engine.trainer import RunResult, Trainer
from .errors import GankitError
from .pictures import class_grid, reconstruct, transfer
from .run import Run, evaluate, info, interpolate, load_run, sample, translate, traverse
from .study import compare

__version__ = "0.1.0"
__all__ = ["Config", "load_config", "train", "resume", "branch", "Trainer", "RunResult", "load_run", "sample", "info",
           "Run", "GankitError", "interpolate", "traverse", "evaluate", "class_grid", "transfer", "reconstruct",
           "compare", "check", "translate"]
