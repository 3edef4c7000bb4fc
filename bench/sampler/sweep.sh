#!/usr/bin/env bash
# Sampler settings on the bundled generator, swept with the knobs that exist
# today (guidance scale, solver, steps, int8 against fp32): `tinycats eval generator`, 50
# samples per breed, seed 0 for every row, 200 bootstrap resamples. Each row's JSON report
# lands in bench/sampler/reports/; `python3 bench/sampler/table.py` writes bench/sampler/sweep.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=target/release/tinycats
out=bench/sampler/reports
mkdir -p "$out"
row() {
  name=$1; shift
  echo "== $name: tinycats eval generator --per-breed 50 $*" >&2
  start=$(date +%s)
  "$bin" eval generator --per-breed 50 --report "$out/$name.json" "$@" > "$out/$name.txt" 2>&1
  echo "$name $(( $(date +%s) - start )) s" >> "$out/times.txt"
}
row fp32-euler20-cfg4 --precision fp32
row int8-euler20-cfg4 --precision int8
row fp32-euler20-cfg3 --precision fp32 --cfg-scale 3
row fp32-euler20-cfg2 --precision fp32 --cfg-scale 2
row fp32-heun10-cfg4 --precision fp32 --solver heun --steps 10
row fp32-euler10-cfg4 --precision fp32 --steps 10
row fp32-euler20-cfg1.5 --precision fp32 --cfg-scale 1.5
row int8-euler20-cfg3 --precision int8 --cfg-scale 3
row fp32-euler20-cfg3.5 --precision fp32 --cfg-scale 3.5
row fp32-euler20-cfg2.5 --precision fp32 --cfg-scale 2.5
row fp32-heun10-cfg3 --precision fp32 --solver heun --steps 10 --cfg-scale 3
