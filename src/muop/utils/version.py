"""The installed muop version (``0.0.0+unknown`` when run from a source tree without install)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["muop_version"]


def muop_version() -> str:
    """The version of the installed ``muop`` distribution."""
    try:
        return version("muop")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0.0.0+unknown"
