#!/usr/bin/env bash
# Coordinate checks for SFNO (over width and over spherical modes) and UNO (over width), SP vs μP.
# Run from the repository root: bash experiments/sfno/coord.sh
set -euo pipefail
export OMP_NUM_THREADS=1
M="nice -n 10 .venv/bin/muop coord-check"
for p in sp mup; do
  $M --config experiments/sfno/sfno_coord.yaml --widths 16,32,64,128 --grid 32 --parametrization $p --out results/sfno/coord_width_$p
  $M --config experiments/sfno/sfno_coord.yaml --modes 4,8,16 --grid 32 --parametrization $p --out results/sfno/coord_modes_$p
  $M --config experiments/sfno/uno_coord.yaml --widths 8,16,32,64 --grid 32 --parametrization $p --out results/coord/uno_width_$p
done
# The same UNO with its U-shaped resolution changes (after the review fix that lets run configs set uno_scalings)
for p in sp mup; do
  $M --config experiments/sfno/uno_coord_scaled.yaml --widths 8,16,32,64 --grid 32 --parametrization $p --out results/coord/uno_scaled_width_$p
done
