"""The ``muop`` command line (the only place that configures logging)."""

from .main import build_parser, main, run

__all__ = ["build_parser", "main", "run"]
