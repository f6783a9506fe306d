#!/usr/bin/env bash
# Retrains every seed experiment from its config into checkpoints/<config>/ and logs
# how long each took. Usage: bin/reproduce.sh [config-name ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
  configs=(random-paper transfer-paper maml-paper-k5 maml-paper fomaml-paper random-flux transfer-flux reptile-flux fomaml-flux maml-blog maml-numpy transfer-numpy maml-jax)
fi
for c in "${configs[@]}"; do
  start=$(date +%s)
  node bin/metalearn.js train --config "configs/$c.json" --name "$c" --force --quiet
  echo "$c: trained in $(( $(date +%s) - start )) s" | tee -a checkpoints/reproduce-times.log
done
