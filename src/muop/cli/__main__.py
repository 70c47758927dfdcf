"""``python -m muop.cli``: the ``muop`` command line (also what ``torchrun`` runs on each process)."""

from . import run

run()
