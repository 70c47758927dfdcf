"""The errors muop raises on purpose: one type per kind of user mistake.

Everything muop raises because of what it was given derives from :class:`InputError`, a
``ValueError`` (code that catches ``ValueError`` keeps working). Its message is one line that
names the bad value and what was expected. The command line reports these with exit code 2 and
no traceback; any other exception is a bug (in muop or below it) and keeps its traceback.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "InputError",
    "UsageError",
    "ConfigError",
    "DataError",
    "StorageError",
    "StateError",
    "expect",
    "was_interrupted",
]


class InputError(ValueError):
    """A bad value given to muop; the message names it and what was expected."""


class UsageError(InputError):
    """A bad argument to a function or a command-line option."""


class ConfigError(InputError):
    """A bad run-config value; the message names the field (``model.width``), the value and what is allowed."""


class DataError(InputError):
    """A data file that cannot be used: unreadable, of an unknown layout, non-finite, too small."""


class StorageError(InputError):
    """An Optuna storage URL that is malformed or cannot be opened (passwords never appear)."""


class StateError(InputError):
    """A saved training state that cannot be resumed here: another config's, or unreadable."""


def expect(ok: bool, where: str, value: Any, expected: str) -> None:
    """Raise ``ConfigError("where=value: expected ...")`` unless ``ok``: the one-line check of a config field."""
    if not ok:
        raise ConfigError(f"{where}={value!r}: expected {expected}")


def was_interrupted(e: BaseException | None) -> bool:
    """Whether ``e`` is Ctrl-C, or an error raised while Ctrl-C was being handled (a library's own
    bookkeeping, e.g. Optuna releasing its journal lock, can fail that way when the interrupt lands
    inside it): the chain of ``__context__`` holds a KeyboardInterrupt."""
    while e is not None:
        if isinstance(e, KeyboardInterrupt):
            return True
        e = e.__context__
    return False
