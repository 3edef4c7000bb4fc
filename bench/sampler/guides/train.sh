#!/usr/bin/env bash
# Trains a purpose-made weak guide for the sampler sweep: bench/sampler/guides/NAME.toml,
# starting from the bundled generator with the blocks named after NAME left out.
#   bash bench/sampler/guides/train.sh mid4 2 3
# The guide lands in target/guides/NAME (config.json, model.safetensors = the run's EMA
# weights, model.onnx), its log in bench/sampler/guides/NAME.log.
set -euo pipefail
cd "$(dirname "$0")/../../.."
name=${1:?usage: train.sh NAME BLOCK [BLOCK ...]}; shift
bin=${BIN:-target/release/tinycats}
here=bench/sampler/guides
init=target/guides/$name-init
PYTHONPATH=.tinycats/py python3 bench/sampler/skip_guide.py "$init" "$@"
start=$(date +%s)
"$bin" train-generator --data synth --synth-per-class 2000 --config "$here/$name.toml" \
  --init-from "$init" --runs-dir runs/guides --name "$name" 2>&1 | tee "$here/$name.log"
echo "wall $(( $(date +%s) - start )) s on $(sed -n 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1), $(nproc) threads" | tee -a "$here/$name.log"
mkdir -p "target/guides/$name"
cp "runs/guides/$name/config.json" "runs/guides/$name/model.safetensors" "target/guides/$name/"
"$bin" export onnx --model "target/guides/$name" --out "target/guides/$name/model.onnx"
