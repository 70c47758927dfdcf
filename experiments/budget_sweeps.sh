#!/usr/bin/env bash
# Budget-axis sweeps (issue #22): does the best LR move with the training horizon, the training-set size
# and the grid, SP beside μP? Burgers 1-D (experiments/burgers_budget.yaml), 8 LRs from 1e-3 to 0.3,
# 3 seeds, one torch thread. Small on purpose (a 2-core machine shared with other jobs; the whole
# script's budget was 20 CPU minutes). Reruns train only what is missing. Run from the repository root:
#   OMP_NUM_THREADS=1 nice -n 10 bash experiments/budget_sweeps.sh
# then: python experiments/budget_summary.py results/sweeps/budget/burgers_*
# (The committed epochs sweep's SP half was retrained after a fix: its first SP runs had trained μP.)
set -euo pipefail
muop=${MUOP:-.venv/bin/muop}
cfg=experiments/burgers_budget.yaml
common=(--config "$cfg" --seeds 3 --lrs 1e-3,3e-1,8)
out=results/sweeps/budget
# training horizon 5 -> 40 epochs (cosine over each run's own epochs), 200 training samples
$muop sweep "${common[@]}" --set data.n_train=200 --epochs 5,10,20,40 --out "$out/burgers_epochs"
# training-set size 100 -> 800 (the first N of 800 generated samples), 20 epochs
$muop sweep "${common[@]}" --n-train 100,200,400,800 --out "$out/burgers_n_train"
# grid 32 -> 128 points (stride 4, 2, 1 of the generated 128), 200 training samples, 20 epochs: NOT RUN for the
# committed results (stopped at its start to stay within the CPU budget); uncomment to run it
# $muop sweep "${common[@]}" --set data.n_train=200 --resolutions 32,64,128 --out "$out/burgers_resolution"
