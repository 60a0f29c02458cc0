"""Datasets, loaded whole into memory. Importing this package registers every dataset loader."""
from __future__ import annotations

import dataclasses

from ..options import Options
from ..errors import ConfigError
from ..registry import lookup
from . import domains, fashion, folder, mixture, mnist, toy  # noqa: F401  (their @register calls fill the registry)
from .base import DataOptions, Dataset

__all__ = ["DataOptions", "Dataset", "load_dataset"]


def load_dataset(opts: Options) -> Dataset:
    """Build the dataset named `opts.name`, keeping only the first `opts.limit` training samples."""
    opts.check("data")  # options built in code, not from a config, are validated here too
    limit = opts.limit
    if limit is not None and limit < 1:
        raise ConfigError(f"data.limit must be a positive number of samples, got {limit}; "
                          "leave it unset (null) to use the whole training set.")
    data = lookup("dataset", opts.name).obj(opts)
    if limit is None:
        return data
    # clone: a slice would keep the whole training tensor alive
    labels = data.train_labels[:limit].clone() if data.train_labels is not None else None
    return dataclasses.replace(data, train=data.train[:limit].clone(), train_labels=labels)
