#!/usr/bin/env bash
# The Python packages benchmarks/gpu_suite.py needs that the lent GPU machine's image lacks (it holds
# torch, numpy, scipy, h5py, matplotlib, rich, pyyaml, requests, opt-einsum, but reaches no registry):
# optuna and its dependencies (the LR sweep) and neuraloperator 2.0.0 with tensorly (the baseline).
# Downloads them here as wheels for that machine's Python 3.12 into build/gpu_wheels (ignored by git;
# name it in the run's `carry`, about 13 MB). There, before the suite:
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site build/gpu_wheels/*.whl
#   export PYTHONPATH=/tmp/site:$PWD/src
# neuraloperator imports wandb only if it is installed; it is not needed for its models.
set -euo pipefail
dest=${1:-build/gpu_wheels}
py=${PYTHON:-python3}
"$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$dest" \
  optuna==5.1.0 alembic==1.20.1 sqlalchemy==2.1.9 colorlog==6.12.0 mako==1.4.3 \
  neuraloperator==2.0.0 tensorly==0.10.0 tensorly-torch==0.5.0
ls -l "$dest"
