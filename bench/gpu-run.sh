#!/usr/bin/env bash
# One lend of a GPU machine, in one call: a smoke test, the training throughput of the
# presets with their GPU utilisation, and the bundled generator's recipe trained from scratch
# for the minutes that are left. Every figure goes to $OUT/report.md; the book's cloud-GPU
# section (book/src/train-generator.md) quotes it.
#
#   OUT=/tmp/gpu bench/gpu-run.sh [seconds]          # seconds: the whole script's budget
#
# Build first, on a machine with the registries (book chapter "Train a generator", section 4):
#   cargo xtask setup --cuda
#   CARGO_TARGET_DIR=target-cuda cargo build --release --features cuda -p tinycats-cli
#   mkdir -p gpu-bin && strip -o gpu-bin/tinycats target-cuda/release/tinycats
# Rehearse on the CPU with small settings:
#   DEVICE=cpu BATCH=8 BENCH_STEPS=25 BENCH="tiny-b8 tiny 8" OUT=/tmp/gpu bench/gpu-run.sh 200
set -uo pipefail

TOTAL=${1:-470}
BIN=${BIN:-gpu-bin/tinycats}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-256}
BENCH_STEPS=${BENCH_STEPS:-120}
PRICE=${PRICE:-2.50} # US$ per GPU-hour, the price the cost column assumes
WORK=${WORK:-/tmp/tinycats-gpu}
START=$SECONDS
R="$OUT/report.md"
mkdir -p "$WORK/runs" "$OUT"
: >"$R"
log() { echo "$*" | tee -a "$R"; }
has_gpu() { command -v nvidia-smi >/dev/null && [ "$DEVICE" = cuda ]; }

# Mean GPU utilisation (%) and peak memory (MiB) while a command runs, sampled every 0.5 s.
UTIL_PID=
util_start() {
    : >"$WORK/util.csv"
    if has_gpu; then
        nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits \
            -lms 500 >"$WORK/util.csv" &
        UTIL_PID=$!
    fi
}
util_stop() {
    [ -n "$UTIL_PID" ] && kill "$UTIL_PID" 2>/dev/null && wait "$UTIL_PID" 2>/dev/null
    UTIL_PID=
    awk -F', *' 'NF>=2 {u+=$1; n++; if ($2>m) m=$2} END {if (n) printf "%.0f %% mean, %d MiB peak", u/n, m; else printf "n/a"}' "$WORK/util.csv"
}

# Median images/s of a run's metrics.csv after its first `skip` steps.
median_ips() {
    awk -F, -v skip="$2" 'NR==1 {for (i=1;i<=NF;i++) if ($i=="images_per_s") c=i; next}
        $1>skip {print $c}' "$1/metrics.csv" | sort -g | awk '{a[NR]=$1} END {print (NR? a[int((NR+1)/2)] : 0)}'
}

# A run config: preset, batch, steps, lr, and evaluation/checkpoint cadence.
run_config() { # name preset batch steps lr warmup ema every
    local every=$8
    cat >"$WORK/$1.toml" <<EOF
preset = "$2"
batch_size = $3

[trainer]
max_steps = $4
lr = $5
min_lr = 1e-5
warmup_steps = $6
ema_decay = $7
eval_every = $every
eval_batches = 4
patience = 0
checkpoint_every = $every
keep_checkpoints = 1
log_every = 100
preview_every = $every
seed = 0
bf16 = true
EOF
}

train() { # name data-per-class [extra flags]
    local name=$1 per=$2
    shift 2
    "$BIN" train-generator --data synth --synth-per-class "$per" --config "$WORK/$name.toml" \
        --runs-dir "$WORK/runs" --name "$name" --device "$DEVICE" --overwrite "$@" \
        >"$WORK/$name.log" 2>&1
}

log "# tinycats on a GPU machine, $(date -u +%FT%TZ)"
log ""
if has_gpu; then
    log "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
fi
log "- CPU cores: $(nproc); binary: \`$BIN\` ($("$BIN" --version 2>&1 | head -1)); device: $DEVICE"
log "- price assumed for costs: US\$$PRICE per GPU-hour"
log ""

# 1. Smoke test: the bundled generator samples 8 cats per breed on the device.
t0=$SECONDS
util_start
"$BIN" sample --model assets/generator --backend tch --device "$DEVICE" --per-breed 8 \
    --out "$OUT/smoke.png" >"$WORK/smoke.log" 2>&1
rc=$?
u=$(util_stop)
log "## 1. Smoke test"
log ""
log "\`tinycats sample --backend tch --device $DEVICE --per-breed 8\` (104 cats, Euler 20 steps,"
log "guidance 4): exit $rc, $((SECONDS - t0)) s wall including start-up and CUDA init; GPU $u."
tail -3 "$WORK/smoke.log" | sed 's/^/    /' >>"$R"
log ""

# 2. Throughput of the presets (bf16, from scratch, SynthCats rendered on the fly).
log "## 2. Training throughput"
log ""
log "Median images/s over steps after the 20th of a $BENCH_STEPS-step run (data loading"
log "included: SynthCats renders on the fly on the machine's CPU cores)."
log ""
log "| run | preset | batch | images/s | steps/s | GPU utilisation | s per 1,000 steps | US\$ per 1,000 steps |"
log "|---|---|---|---|---|---|---|---|"
TINY_IPS=0
IFS=';' read -ra RUNS <<<"${BENCH:-tiny-b$BATCH tiny $BATCH;tiny-b64 tiny 64;small-b$BATCH small $BATCH}"
for spec in "${RUNS[@]}"; do
    read -r name preset batch <<<"$spec"
    [ $((SECONDS - START)) -gt $((TOTAL / 3)) ] && { log "| $name | skipped: time | | | | | | |"; continue; }
    run_config "$name" "$preset" "$batch" "$BENCH_STEPS" 5e-4 10 0.999 100000
    util_start
    train "$name" 2000
    rc=$?
    u=$(util_stop)
    if [ $rc -ne 0 ]; then
        log "| $name | $preset | $batch | failed (exit $rc) | | | | |"
        tail -5 "$WORK/$name.log" | sed 's/^/    /' >>"$R"
        continue
    fi
    ips=$(median_ips "$WORK/runs/$name" 20)
    [ "$name" = "tiny-b$BATCH" ] && TINY_IPS=$ips
    awk -v n="$name" -v p="$preset" -v b="$batch" -v ips="$ips" -v u="$u" -v price="$PRICE" 'BEGIN {
        sps = ips / b; s = 1000 / sps;
        printf "| %s | %s | %d | %.0f | %.2f | %s | %.0f | %.3f |\n", n, p, b, ips, sps, u, s, s / 3600 * price }' | tee -a "$R"
done
log ""

# 3. The bundled recipe (tiny, x-prediction, logit-normal t) from scratch, for the time left.
LEFT=$((TOTAL - (SECONDS - START) - 45))
log "## 3. Training the tiny preset from scratch"
log ""
if awk -v i="$TINY_IPS" 'BEGIN {exit !(i > 0)}' && [ $LEFT -gt 30 ]; then
    # Steps that fit in LEFT seconds at the measured rate, less 15 % for start-up, evaluations
    # and previews.
    STEPS=$(awk -v i="$TINY_IPS" -v b="$BATCH" -v s="$LEFT" 'BEGIN {printf "%d", 0.85 * s * i / b}')
    EVERY=$(((STEPS + 3) / 4))
    run_config gpu-tiny tiny "$BATCH" "$STEPS" 1e-3 $((STEPS / 20 + 1)) 0.9995 "$EVERY"
    t0=$SECONDS
    util_start
    timeout -s INT $((LEFT + 20)) "$BIN" train-generator --data synth --synth-per-class 20000 \
        --config "$WORK/gpu-tiny.toml" --runs-dir "$WORK/runs" --name gpu-tiny \
        --device "$DEVICE" --overwrite >"$WORK/gpu-tiny.log" 2>&1
    rc=$?
    u=$(util_stop)
    wall=$((SECONDS - t0))
    D="$WORK/runs/gpu-tiny"
    last=$(tail -1 "$D/metrics.csv" | cut -d, -f1)
    log "\`train-generator --data synth --synth-per-class 20000 --device $DEVICE\` with"
    log "\`gpu-tiny.toml\` (below): exit $rc, $last of $STEPS steps of batch $BATCH in $wall s wall"
    log "($(awk -v s="$last" -v b="$BATCH" 'BEGIN {printf "%d", s*b}') images), GPU $u,"
    log "cost $(awk -v w="$wall" -v p="$PRICE" 'BEGIN {printf "US$%.2f", w/3600*p}') at US\$$PRICE/h."
    log ""
    log "Validation loss (step, val_loss):"
    awk -F, 'NR>1 && $4!="" {printf "%s %s; ", $1, $4}' "$D/metrics.csv" | tee -a "$R"
    log ""
    log ""
    log '```toml'
    cat "$WORK/gpu-tiny.toml" >>"$R"
    log '```'
    # The model folder, the metrics and the previews come back (files of at most 16 MiB).
    if [ -f "$D/model.safetensors" ]; then
        split -b 15M -d "$D/model.safetensors" "$OUT/model.safetensors.part"
        cp "$D/config.json" "$OUT/config.json"
        "$BIN" sample --model "$D" --backend tch --device "$DEVICE" --per-breed 4 \
            --out "$OUT/gpu-tiny-samples.png" >>"$WORK/gpu-tiny.log" 2>&1
    else
        tail -5 "$WORK/gpu-tiny.log" | sed 's/^/    /' >>"$R"
    fi
else
    log "skipped: no throughput measured for tiny-b$BATCH, or too little time left ($LEFT s)."
fi
log ""
log "Script wall time: $((SECONDS - START)) s."

# Everything small in one archive (the run folders' metrics, previews and logs).
(cd "$WORK" && tar czf "$OUT/logs.tar.gz" --exclude='*.safetensors' --exclude='*.ckpt' \
    --exclude='checkpoints' ./*.log ./*.toml ./*.png runs 2>/dev/null)
ls -la "$OUT"
