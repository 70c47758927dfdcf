#!/usr/bin/env bash
# Depth transfer (issue #15): coordinate checks over depth 2 -> 16 and LR sweeps over depth 2, 4, 8,
# 16 on 1-D Burgers, SP vs μP with alpha = 0.5 (Depth-μP) and alpha = 1 (CompleteP), 3 seeds.
# Small on purpose (one CPU core shared with other jobs): about 25 minutes. Reruns train only what
# is missing. Run from the repository root; the tables: python experiments/depth/summary.py
set -euo pipefail
muop=${MUOP:-muop}
out=results/depth
cc=(--block classic --depths 2,4,8,16 --width 32 --fixed-modes 8 --seeds 3 --steps 5 --lr 1e-2)

# Coordinate checks: pre-activation blocks (the choice), and post-activation (the alternative).
for res in pre post; do
  $muop coord-check "${cc[@]}" --residual $res --parametrization sp --out "$out/coord_${res}_sp"
  $muop coord-check "${cc[@]}" --residual $res --parametrization mup --alpha 0.5 --out "$out/coord_${res}_mup_a0.5"
  $muop coord-check "${cc[@]}" --residual $res --parametrization mup --alpha 1 --out "$out/coord_${res}_mup_a1"
done

# LR sweeps over depth (base depth 2 = the proxy). SP and μP alpha = 0.5 share one sweep; alpha = 1 is
# a config field, so μP alpha = 1 is a sweep of its own.
cfg=experiments/depth/burgers_depth.yaml
sw=(--config "$cfg" --depths 2,4,8,16 --lrs 3e-4,1e-1,6 --seeds 3)
$muop sweep "${sw[@]}" --parametrization sp,mup --out "$out/burgers_sp_mup_a0.5"
$muop sweep "${sw[@]}" --parametrization mup --set parametrization.depth_alpha=1.0 --out "$out/burgers_mup_a1"
