#!/usr/bin/env bash
# Darcy 2-D LR sweeps over depth 2, 4, 8, 16 (issue #15): SP vs μP alpha = 0.5 and alpha = 1, 3 seeds,
# on a coarse 32² grid (experiments/depth/darcy_depth.yaml). About 40 minutes on one shared CPU core.
# Run from the repository root after (or instead of) run.sh; the tables: python experiments/depth/summary.py
set -euo pipefail
muop=${MUOP:-muop}
out=results/depth
cfg=experiments/depth/darcy_depth.yaml
sw=(--config "$cfg" --depths 2,4,8,16 --lrs 1e-3,1e-1,5 --seeds 3)
$muop sweep "${sw[@]}" --parametrization sp,mup --out "$out/darcy_sp_mup_a0.5"
$muop sweep "${sw[@]}" --parametrization mup --set parametrization.depth_alpha=1.0 --out "$out/darcy_mup_a1"
