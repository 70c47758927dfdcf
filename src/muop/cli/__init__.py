"""The ``muop`` command line (the only place that configures logging).

* :mod:`muop.cli.app`: the parser, and errors mapped to one ``muop: error: ...`` line and an exit code;
* :mod:`muop.cli.common`: the argument builders and value parsers the commands share, output checks,
  the progress bar;
* one module per command, each with ``add_parser(sub)`` and its ``run_*``: :mod:`~muop.cli.coord`
  (``coord-check``), :mod:`~muop.cli.demo`, :mod:`~muop.cli.data` (``data generate``, ``data info``),
  :mod:`~muop.cli.train`, :mod:`~muop.cli.sweep`, :mod:`~muop.cli.tune`, :mod:`~muop.cli.transfer`.

A new command is a new module here, listed in ``muop.cli.app.COMMANDS``; the work it does goes in
:mod:`muop.workflows` (or the layer it belongs to), so it works from Python too.
"""

from .app import build_parser, main, run

__all__ = ["build_parser", "main", "run"]
