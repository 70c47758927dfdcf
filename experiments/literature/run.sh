#!/usr/bin/env bash
# The literature reproductions (results/literature/): muop's FNO and neuraloperator's FNO (library: neuralop),
# same config otherwise, several seeds, one torch thread each, two runs at a time on 2 shared cores.
# Usage: bash experiments/literature/run.sh PROBLEM CONFIG EPOCHS SEEDS...
#   e.g. bash experiments/literature/run.sh fno-burgers experiments/literature/fno_burgers.yaml 20 0 1
set -euo pipefail
problem=$1; config=$2; epochs=$3; shift 3
MUOP=${MUOP:-.venv/bin/muop}
for seed in "$@"; do
  for lib in muop neuralop; do
    out=results/literature/$problem/${lib}_seed$seed
    mkdir -p "results/literature/$problem"
    OMP_NUM_THREADS=1 nice -n 10 $MUOP train --config "$config" --set model.library=$lib \
      --set train.epochs="$epochs" --set train.seed="$seed" --out "$out" > "$out.log" 2>&1 &
  done
  wait
done
