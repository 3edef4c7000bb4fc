#!/usr/bin/env bash
# A real `tinycats train-generator` run of the `tiny` preset in fp32 and in bf16 mixed
# precision, one after the other on this machine, and the median images/s each logged
# (metrics.csv's images_per_s, per step, after the first 10 steps). bf16 runs only where the CPU has AMX or
# AVX-512 BF16; elsewhere the second run says so and trains in fp32.
#
#   bash bench/precision/run.sh [STEPS]     # default 60 steps of 32 images each
set -euo pipefail
cd "$(dirname "$0")/../.."
steps="${1:-60}"
out="target/bench-precision"
rm -rf "$out"
mkdir -p "$out"
cargo build --release -q -p tinycats-cli
for precision in fp32 bf16; do
    bf16=$([ "$precision" = bf16 ] && echo true || echo false)
    cat > "$out/$precision.toml" <<TOML
preset = "tiny"
batch_size = 32
[trainer]
max_steps = $steps
warmup_steps = 10
eval_every = $steps
checkpoint_every = $steps
preview_every = $steps
log_every = 20
bf16 = $bf16
TOML
    target/release/tinycats train-generator --data synth --synth-per-class 200 \
        --config "$out/$precision.toml" --runs-dir "$out/runs" --name "$precision" \
        --seed 0 --device cpu | tee "$out/$precision.log"
done
python3 - "$out" <<'PY'
import csv, sys, pathlib
out = pathlib.Path(sys.argv[1])
rates = {}
for p in ["fp32", "bf16"]:
    rows = list(csv.DictReader(open(out / "runs" / p / "metrics.csv")))
    logged = sorted(float(r["images_per_s"]) for r in rows[10:] if r["images_per_s"])
    rates[p] = logged[len(logged) // 2]
    precision = next((l for l in open(out / f"{p}.log") if l.startswith("precision:")), "precision: fp32 (bf16 = false)\n")
    print(f"{p}: {rates[p]:.1f} images/s, median of steps 11-{rows[-1]['step']} ({precision.strip()})")
print(f"bf16 / fp32: {rates['bf16'] / rates['fp32']:.2f}x")
PY
