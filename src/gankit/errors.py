"""Errors a user can cause. The CLI prints their message as one paragraph and exits non-zero."""
import difflib
from typing import Iterable


def did_you_mean(word: object, choices: Iterable[object]) -> str:
    """The hint " Did you mean 'X'?" for the closest of `choices` to `word`, or "" when none is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


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
