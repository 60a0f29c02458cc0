"""Shared test helpers (importable as `helpers`: pytest puts tests/ on sys.path)."""


def tiny_ring(**train) -> dict:
    """A seconds-long config: tiny MLPs on a small ring dataset, no progress bar or TensorBoard."""
    t = {"batch_size": 32, "steps": 10, "log_every": 5, "sample_every": 5, "checkpoint_every": 5,
         "n_grid": 16, "progress": False, "tensorboard": False, "gif": False}
    t.update(train)
    return {
        "model": {"name": "gan", "z_dim": 4, "generator": {"name": "mlp", "hidden": [16]},
                  "discriminator": {"name": "mlp", "hidden": [16]}},
        "data": {"name": "ring", "n_train": 512, "n_test": 64},
        "train": t,
    }
