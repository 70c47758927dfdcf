#!/usr/bin/env bash
# Joint transfer (width 16, depth 2, K 4) -> (width 128, depth 8, K 16) vs direct tuning (issue #15),
# 8 LR trials on each side. Run from the repository root.
set -euo pipefail
muop=${MUOP:-muop}
cfg=experiments/depth/burgers_joint.yaml
run=results/depth/joint
$muop tune --config "$cfg" --trials 8 --study joint --run-dir "$run"
$muop transfer --config "$cfg" --study joint --run-dir "$run" --target-width 128 --target-depth 8 --target-modes 16 --compare-direct --out "$run"
