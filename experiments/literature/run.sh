#!/usr/bin/env bash
# The literature reproductions (results/literature/): muop's FNO and neuraloperator's FNO (library: neuralop),
# same config otherwise, several seeds, one torch thread each.
# Usage: bash experiments/literature/run.sh PROBLEM CONFIG EPOCHS SEEDS...
#   e.g. bash experiments/literature/run.sh fno-burgers experiments/literature/fno_burgers.yaml 20 0 1
# Environment: LABEL=name puts the runs under results/literature/PROBLEM/LABEL/ (a second budget of the
# same problem; summary.py reports it as its own row); SERIAL=1 runs the two models one after the other
# (default: both at once, two runs on the 2 cores); SET="section.field=value ..." adds overrides to every run.
set -euo pipefail
problem=$1; config=$2; epochs=$3; shift 3
MUOP=${MUOP:-.venv/bin/muop}
dir=results/literature/$problem${LABEL:+/$LABEL}
mkdir -p "$dir"
sets=()
for s in ${SET:-}; do sets+=(--set "$s"); done
for seed in "$@"; do
  for lib in muop neuralop; do
    out=$dir/${lib}_seed$seed
    OMP_NUM_THREADS=1 nice -n 10 $MUOP train --config "$config" --set model.library=$lib \
      --set train.epochs="$epochs" --set train.seed="$seed" "${sets[@]}" --out "$out" > "$out.log" 2>&1 &
    if [ "${SERIAL:-0}" = 1 ]; then wait; fi
  done
  wait
done
