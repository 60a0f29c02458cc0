"""Training loop, checkpoints, logs."""
