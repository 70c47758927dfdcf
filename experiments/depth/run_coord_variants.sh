#!/usr/bin/env bash
# Does the coordinate check over depth see a wrong Adam depth exponent? μP alpha = 0.5 with the
# learning rates of the branch roles (hidden, spectral, bias) taken from SP: at fixed width that is
# the Adam depth exponent 0 instead of alpha - 1 = -1/2. Pre- and post-activation blocks. A minute.
set -euo pipefail
muop=${MUOP:-muop}
out=results/depth
cc=(--block classic --depths 2,4,8,16 --width 32 --fixed-modes 8 --seeds 3 --steps 5 --lr 1e-2 --parametrization mup --alpha 0.5)
for res in pre post; do
  $muop coord-check "${cc[@]}" --residual $res --override hidden.lr=sp --override spectral.lr=sp --override bias.lr=sp --out "$out/coord_${res}_wrong_adam_depth_exponent"
done
