"""Darcy end to end with a proxy cheap on every axis at once (issue #22): ``cheap_e2e.py`` with the Darcy configs.

Usage (from the repository root; the committed run, ``results/e2e/darcy_cheap``):
    OMP_NUM_THREADS=1 nice -n 10 python experiments/darcy_cheap.py --out results/e2e/darcy_cheap

The same as ``python experiments/cheap_e2e.py --proxy experiments/darcy_cheap_proxy.yaml
--target experiments/darcy_cheap_target.yaml --title Darcy --out ...`` (see its docstring for the steps).
"""

from __future__ import annotations

import sys

from cheap_e2e import main  # experiments/ is this script's directory, first on sys.path

DARCY = {
    "proxy": "experiments/darcy_cheap_proxy.yaml",
    "target": "experiments/darcy_cheap_target.yaml",
    "title": "Darcy",
}

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], script="experiments/darcy_cheap.py", defaults=DARCY))
