#!/usr/bin/env bash
# Reproduces every seed experiment: trains each config into checkpoints/shipped/<config>-<seed>/ (three
# seeds for the MAML paper protocol, the frequency-varying family and the Flux post; seed 0 for the
# others), trains the PyTorch peer on the workloads it has (when /usr/bin/python3 has torch),
# evaluates the checkpoints of each experiment on the same 20 000 held-out tasks, draws the
# plots, and writes the README's results tables to docs/results/tables.md.
#
#   npm run reproduce                     train everything (about 80 minutes on 2 cores), then evaluate
#   npm run reproduce -- --eval-only      evaluate and plot the shipped runs (an hour or more on 2 cores)
#   npm run reproduce -- maml-paper ...   train only these configs, then evaluate everything
#   npm run reproduce -- --fresh-draw 4242
#       evaluate the shipped runs on 20 000 other tasks (that --seed) into
#       docs/results/fresh-4242/, no plots, and count the cells of the README's tables and of
#       tables.md whose interval holds the new mean (bin/results-table.js --check)
set -euo pipefail
cd "$(dirname "$0")/.."
ml() { node bin/metalearn.js "$@"; }
# The shipped runs live in checkpoints/shipped/, where no metalearn command writes: a config is trained
# into a folder of its own (staging) and its finished runs are moved in, replacing the old ones.
shipped=checkpoints/shipped
staging=checkpoints/reproduce-staging
ship() { # moves the runs <name>-<seed> of staging into the shipped folder
  for d in "$staging/$1"-[0-9]*/; do [ -d "$d" ] || continue; rm -rf "$shipped/$(basename "$d")"; mv "$d" "$shipped/"; done
}

SEEDED=(random-paper transfer-paper maml-paper-k5 maml-paper fomaml-paper reptile-paper meta-sgd-paper
        fomaml-paper-k5 reptile-paper-k5 anil-paper-k5 cavia-paper-k5 maml++-paper-k5 cavia-paper
        maml-freq-k5 meta-sgd-freq-k5 random-flux transfer-flux reptile-flux fomaml-flux)
SINGLE=(maml-blog random-blog maml-numpy transfer-numpy random-numpy maml-jax daml-blog)
SEEDS=0,1,2
train=("${SEEDED[@]}" "${SINGLE[@]}" peers)
eval_seed=1000
out=docs/results
if [ "${1:-}" = "--eval-only" ]; then train=()
elif [ "${1:-}" = "--fresh-draw" ]; then
  train=(); eval_seed=${2:?--fresh-draw takes the seed of the held-out tasks}; out=docs/results/fresh-$eval_seed
  if [ "$eval_seed" = 1000 ]; then echo "--fresh-draw 1000: those are the tables' own tasks; take another seed" >&2; exit 2; fi
elif [ $# -gt 0 ]; then train=("$@"); fi

times=$out/train-times.txt
mkdir -p $out
record() { # config, seconds: one line per config in train-times.txt
  { grep -v "^$1: " "$times" 2>/dev/null || true; echo "$1: trained in $2 s"; } | sort > "$times.new"
  mv "$times.new" "$times"; grep "^$1: " "$times"
}
# The PyTorch peer (bench/torch_sine.py), trained as long as metalearn's runs, under the same seeds (its own
# random streams: the same seed numbers, not the same draws), and saved as layers models in
# checkpoints/shipped/<name>-<seed>, so that metalearn eval scores it on the very tasks it scores metalearn's on.
peer() { # name, workload, iterations, settings...
  local name=$1 workload=$2 iterations=$3; shift 3
  for seed in ${SEEDS//,/ }; do
    /usr/bin/python3 bench/torch_sine.py --workload "$workload" --iterations "$iterations" --seed "$seed" --plain --save "$staging/$name-$seed" "$@" > /dev/null &
  done
  wait
  ship "$name"
}
for c in "${train[@]}"; do
  start=$(date +%s)
  if [ "$c" = peers ]; then
    if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then echo "peers: /usr/bin/python3 has no torch (apt-get install -y python3-torch): skipped"; continue; fi
    peer peer-maml-paper-k5 maml-paper 70000 --set k=5 --set query=5
    peer peer-maml-paper maml-paper 70000
    peer peer-transfer-paper transfer-paper 70000
    peer peer-fomaml-flux fomaml-flux 50000
    peer peer-reptile-flux reptile-flux 50000
    peer peer-transfer-flux transfer-flux 50000
  elif [[ " ${SEEDED[*]} " == *" $c "* ]]; then
    ml train --config "configs/$c.json" --seeds $SEEDS --out-dir "$staging" --force --quiet && ship "$c"
  else
    ml train --config "configs/$c.json" --out-dir "$staging" --force --quiet && ship "$c"
  fi
  record "$c" $(( $(date +%s) - start ))
done

ck() { for c in "$@"; do for d in "$shipped/$c"-[0-9]*/; do [ -e "$d/model.json" ] && printf -- '--checkpoint %s ' "${d%/}"; done; done; }
TASKS="--tasks 20000 --seed $eval_seed"
# MAML paper, section 5.1: K = 5 and K = 10 support points, lr 0.01, 10 updates
PAPER="maml-paper-k5 maml-paper fomaml-paper reptile-paper transfer-paper random-paper"
ml eval $(ck $PAPER) $(ck peer-maml-paper-k5 peer-maml-paper peer-transfer-paper) --samples 5 --updates 10 --lr 0.01 $TASKS --quiet --out $out/paper-k5.json > /dev/null
ml eval $(ck $PAPER) $(ck peer-maml-paper-k5 peer-maml-paper peer-transfer-paper) --samples 10 --updates 10 --lr 0.01 $TASKS --quiet --out $out/paper-k10.json > /dev/null
# the same 5-shot models with cbfinn/maml's test loss: K fresh random query points
ml eval $(ck maml-paper-k5 transfer-paper) $(ck peer-maml-paper-k5) --samples 5 --updates 10 --lr 0.01 --query random $TASKS --quiet --out $out/paper-k5-random-query.json > /dev/null
# Seven meta-learners trained 5-shot on the MAML paper protocol, each fine-tuned its own way at its own inner lr
# (cavia its context at 1.0, anil its head, meta-sgd and maml++ at their learned rates), beside the baselines
RANKING="maml-paper-k5 fomaml-paper-k5 reptile-paper-k5 meta-sgd-paper anil-paper-k5 cavia-paper-k5 maml++-paper-k5 transfer-paper random-paper"
ml eval $(ck $RANKING) --samples 5 --updates 10 $TASKS --quiet --out $out/ranking-k5.json > /dev/null
# CAVIA's own setting, K = 10, beside MAML trained at K = 10
ml eval $(ck cavia-paper maml-paper) --samples 10 --updates 10 $TASKS --quiet --out $out/cavia-k10.json > /dev/null
# Meta-SGD paper: 5-shot models, one step (meta-sgd at its learned rates, maml at 0.01), tested with K = 5, 10, 20
for k in 5 10 20; do
  ml eval $(ck meta-sgd-paper maml-paper-k5) --samples $k --updates 1 --lr 0.01 $TASKS --quiet --out $out/meta-sgd-k$k.json > /dev/null
done
# the frequency-varying family, w in [0.8, 1.2]: 5-shot MAML and Meta-SGD, and the fixed-frequency 5-shot MAML on it
ml eval $(ck maml-freq-k5 meta-sgd-freq-k5 maml-paper-k5) --frequency 0.8,1.2 --samples 5 --updates 10 --lr 0.01 $TASKS --quiet --out $out/freq-k5.json > /dev/null
# Flux post: 10 samples and 32 updates of SGD 0.02; the robustness test: 5 samples from [0, 5], 10 updates
FLUX="fomaml-flux reptile-flux transfer-flux random-flux"
ml eval $(ck $FLUX) $(ck peer-fomaml-flux peer-reptile-flux peer-transfer-flux) --samples 10 --updates 32 --lr 0.02 $TASKS --quiet --out $out/flux.json > /dev/null
ml eval $(ck $FLUX) --samples 5 --updates 10 --lr 0.02 --sample-range 0,5 $TASKS --quiet --out $out/flux-robustness.json > /dev/null
# PyTorch post: 4 points, 5 steps of 0.03 (its own L1 loss for fine-tuning)
ml eval $(ck maml-blog random-blog) --samples 4 --updates 5 $TASKS --quiet --out $out/blog.json > /dev/null
# numpy post: 10 samples, MAML against joint training and random
ml eval $(ck maml-numpy transfer-numpy random-numpy) --samples 10 --updates 10 --lr 0.01 $TASKS --quiet --out $out/numpy.json > /dev/null
# JAX post: K = 20, its inner step 0.1
ml eval $(ck maml-jax) --samples 20 --updates 10 $TASKS --quiet --out $out/jax.json > /dev/null
# DAML (PyTorch post): one unlabeled source input per step, 5 steps of 0.03 down the learned loss
ml eval $(ck daml-blog) --samples 1 --updates 5 $TASKS --quiet --out $out/daml.json > /dev/null

if [ "$eval_seed" != 1000 ]; then
  node bin/results-table.js docs/results --check $out | tee $out/check.md
  exit 0
fi

# Plots (PNG for the README, SVG beside it), of seed 0 (the loss plots evaluate it on the spot, on the same tasks)
ml plot-data family --count 300 --out docs/family --quiet
seed0() { for c in "$@"; do printf -- "--checkpoint $shipped/%s-0 " "$c"; done; }
ml plot-data losses $(seed0 maml-paper-k5 maml-paper fomaml-paper reptile-paper transfer-paper) --samples 5 --updates 10 --lr 0.01 $TASKS --out docs/paper-k5-losses --quiet
ml plot-data curves $(for c in maml-paper-k5 fomaml-paper reptile-paper transfer-paper; do printf -- "--run $shipped/%s-0 " "$c"; done) --out docs/paper-curves --quiet
FLUX0=$(seed0 $FLUX)
ml plot-data fit $FLUX0 --wave 4,1 --samples 10 --updates 32 --lr 0.02 --seed 1 --out docs/flux-fit --quiet
ml plot-data fit $FLUX0 --wave 4,1 --samples 5 --updates 10 --lr 0.02 --sample-range 0,5 --seed 1 --out docs/flux-robustness-fit --quiet
ml plot-data losses $(seed0 $FLUX) --samples 5 --updates 10 --lr 0.02 --sample-range 0,5 $TASKS --out docs/flux-robustness-losses --quiet
ml plot-data fit --checkpoint $shipped/maml-blog-0 --checkpoint $shipped/random-blog-0 --wave 1,3.14159265 --samples 4 --updates 5 --seed 2 --out docs/blog-fit --quiet
ml plot-data fit --checkpoint $shipped/maml-numpy-0 --checkpoint $shipped/transfer-numpy-0 --checkpoint $shipped/random-numpy-0 --wave 3,1 --samples 10 --updates 10 --lr 0.01 --seed 3 --out docs/numpy-fit --quiet
ml plot-data fit --checkpoint $shipped/daml-blog-0 --wave 1,pi --samples 1 --updates 5 --seed 2 --out docs/daml-fit --quiet

node bin/results-table.js $out > $out/tables.md
echo "wrote $out/*.json, docs/*.png and $out/tables.md"
