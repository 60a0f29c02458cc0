"""Errors a user can cause. The CLI prints their message as one paragraph and exits non-zero."""


class GankitError(Exception):
    """Base of every error that is the user's to fix; its message says what is wrong and what to do."""


class ConfigError(GankitError):
    """A recipe, override or option is invalid."""


class DataError(GankitError):
    """A dataset is missing, corrupt or unreadable."""


class RunError(GankitError):
    """A run directory is missing what a command needs (e.g. a checkpoint)."""


class NonFiniteLossError(GankitError):
    """A loss became NaN/inf; the run stops and keeps its last good checkpoint."""
