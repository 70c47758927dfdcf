#!/usr/bin/env bash
# Which hyperparameters transfer, SP vs μP, over width (16 -> 64) and over modes (4 -> 16): one small
# sweep per (hyperparameter, axis) into results/sweeps/hparams_<name>_<axis>, then the per-role LR
# ablation (μP with one role's rule taken from SP) into results/sweeps/ablation_<variant>.
# Small on purpose (Burgers 1-D at s = 128, 200 samples, 15 epochs, 3 sizes, 2 seeds): 738 runs, under
# an hour on one CPU core shared with other jobs. (The grids of the multipliers, the init scale and
# the batch size first stopped at 0.25 and 10, where most sizes had their best; rerunning with the
# wider grids below trained only the added values.) Reruns train only what is missing. Run from the
# repository root; the table: python experiments/regret_summary.py --by-hparam results/sweeps/hparams_*
set -euo pipefail
muop=${MUOP:-muop}
cfg=experiments/burgers_hparams.yaml
common=(--config "$cfg" --seeds 2)
axes=(width modes)
declare -A size=([width]="--widths 16,32,64" [modes]="--modes 4,8,16")

for axis in "${axes[@]}"; do
  # the LR itself (5 values around the config's 3e-2), the reference row
  $muop sweep "${common[@]}" ${size[$axis]} --lrs 3e-3,3e-1,5 --out "results/sweeps/hparams_lr_$axis"
  for hp in init_scale input_mult output_mult; do
    $muop sweep "${common[@]}" ${size[$axis]} --hparam $hp --values 0.0625,0.25,1,4 --out "results/sweeps/hparams_${hp}_$axis"
  done
  $muop sweep "${common[@]}" ${size[$axis]} --set optimizer.name=adamw --hparam weight_decay --values 0.01,0.1,1 --out "results/sweeps/hparams_weight_decay_$axis"
  $muop sweep "${common[@]}" ${size[$axis]} --hparam beta2 --values 0.9,0.99,0.999 --out "results/sweeps/hparams_beta2_$axis"
  $muop sweep "${common[@]}" ${size[$axis]} --hparam batch_size --values 5,10,20,40 --out "results/sweeps/hparams_batch_size_$axis"
done

# Per-role ablation over width: μP everywhere but one role, whose rule (init, multiplier, LR) is SP's.
for role in hidden spectral output; do
  $muop sweep "${common[@]}" --widths 16,32,64 --parametrization mup --set "parametrization.overrides={$role: sp}" --lrs 3e-3,3e-1,5 --out "results/sweeps/ablation_${role}_sp"
done
