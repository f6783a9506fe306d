#!/usr/bin/env bash
# Reproduces every seed experiment: trains each config into checkpoints/<config>/,
# evaluates the checkpoints of each experiment on the same held-out tasks, draws the
# plots, and writes the README's results tables to docs/results/tables.md.
#
#   npm run reproduce                     train everything (about 1.5 h on 2 cores), then evaluate
#   npm run reproduce -- --eval-only      evaluate and plot the committed checkpoints (a few minutes)
#   npm run reproduce -- maml-paper ...   train only these configs, then evaluate everything
set -euo pipefail
cd "$(dirname "$0")/.."
ml() { node bin/metalearn.js "$@"; }

ALL=(random-paper transfer-paper maml-paper-k5 maml-paper fomaml-paper reptile-paper
     random-flux transfer-flux reptile-flux fomaml-flux maml-blog random-blog
     maml-numpy transfer-numpy random-numpy maml-jax meta-sgd-paper daml-blog)
train=("${ALL[@]}")
if [ "${1:-}" = "--eval-only" ]; then train=(); elif [ $# -gt 0 ]; then train=("$@"); fi

mkdir -p docs/results
for c in "${train[@]}"; do
  start=$(date +%s)
  ml train --config "configs/$c.json" --name "$c" --force --quiet
  times=docs/results/train-times.txt
  { grep -v "^$c: " "$times" 2>/dev/null || true; echo "$c: trained in $(( $(date +%s) - start )) s"; } | sort > "$times.new"
  mv "$times.new" "$times"; grep "^$c: " "$times"
done

out=docs/results
ck() { for c in "$@"; do printf -- '--checkpoint checkpoints/%s ' "$c"; done; }
# MAML paper, section 5.1: K = 5 and K = 10 support points, lr 0.01, 600 tasks, 10 updates
PAPER="maml-paper-k5 maml-paper fomaml-paper reptile-paper transfer-paper random-paper"
ml eval $(ck $PAPER) --samples 5 --updates 10 --lr 0.01 --quiet --out $out/paper-k5.json
ml eval $(ck $PAPER) --samples 10 --updates 10 --lr 0.01 --quiet --out $out/paper-k10.json
# Flux post: 10 samples and 32 updates of SGD 0.02; the robustness test: 5 samples from [0, 5], 10 updates
FLUX="fomaml-flux reptile-flux transfer-flux random-flux"
ml eval $(ck $FLUX) --samples 10 --updates 32 --lr 0.02 --quiet --out $out/flux.json
ml eval $(ck $FLUX) --samples 5 --updates 10 --lr 0.02 --sample-range 0,5 --quiet --out $out/flux-robustness.json
# PyTorch post: 4 points, 5 steps of 0.03 (its own L1 loss for fine-tuning)
ml eval $(ck maml-blog random-blog) --samples 4 --updates 5 --quiet --out $out/blog.json
# numpy post: 10 samples, MAML against joint training and random
ml eval $(ck maml-numpy transfer-numpy random-numpy) --samples 10 --updates 10 --lr 0.01 --quiet --out $out/numpy.json
# JAX post: K = 20, its inner step 0.1
ml eval $(ck maml-jax) --samples 20 --updates 10 --quiet --out $out/jax.json
# Meta-SGD paper: 5-shot models, one step (meta-sgd at its learned rates, maml at 0.01), tested with K = 5, 10, 20
for k in 5 10 20; do
  ml eval $(ck meta-sgd-paper maml-paper-k5) --samples $k --updates 1 --lr 0.01 --quiet --out $out/meta-sgd-k$k.json
done
# DAML (PyTorch post): one unlabeled source input per step, 5 steps of 0.03 down the learned loss
ml eval $(ck daml-blog) --samples 1 --updates 5 --quiet --out $out/daml.json

# Plots (PNG for the README, SVG beside it)
ml plot-data family --count 300 --out docs/family --quiet
# (maml-paper, meta-trained with K = 10, diverges at K = 5 after 6 steps: it is in the table, not on this linear axis)
ml plot-data losses $(ck maml-paper-k5 fomaml-paper reptile-paper transfer-paper random-paper) --samples 5 --updates 10 --lr 0.01 --out docs/paper-k5-losses --quiet
ml plot-data curves $(for c in maml-paper-k5 fomaml-paper reptile-paper transfer-paper; do printf -- '--run checkpoints/%s ' "$c"; done) --out docs/paper-curves --quiet
ml plot-data fit $(ck $FLUX) --wave 4,1 --samples 10 --updates 32 --lr 0.02 --seed 1 --out docs/flux-fit --quiet
ml plot-data fit $(ck $FLUX) --wave 4,1 --samples 5 --updates 10 --lr 0.02 --sample-range 0,5 --seed 1 --out docs/flux-robustness-fit --quiet
ml plot-data losses --eval $out/flux-robustness.json --out docs/flux-robustness-losses --quiet
ml plot-data fit $(ck maml-blog random-blog) --wave 1,3.14159265 --samples 4 --updates 5 --seed 2 --out docs/blog-fit --quiet
ml plot-data fit $(ck maml-numpy transfer-numpy random-numpy) --wave 3,1 --samples 10 --updates 10 --lr 0.01 --seed 3 --out docs/numpy-fit --quiet
ml plot-data fit $(ck daml-blog) --wave 1,pi --samples 1 --updates 5 --seed 2 --out docs/daml-fit --quiet

node bin/results-table.js $out > $out/tables.md
echo "wrote $out/*.json, docs/*.png and $out/tables.md"
