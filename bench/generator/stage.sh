#!/usr/bin/env bash
# One measured training stage of the bundled generator (issue: stages that each land).
#
#   bash bench/generator/stage.sh NAME      # trains bench/generator/stages/NAME.toml, measures it
#   bash bench/generator/stage.sh 00-bundled  # measures assets/generator itself, no training
#   python3 bench/generator/table.py        # writes assets/generator/experiments.md
#
# Every row is measured in assets/features, the quality report's network, and also in
# bench/generator/teacher, the second feature network REPA stages align to (05-repa.toml).
#
# A stage starts from committed weights (INIT, default assets/generator) and renders
# PER_CLASS SynthCats per breed (default 2000). Training goes into runs/stages/NAME (git-ignored);
# a finished run (its model.safetensors exists) is measured again without retraining. What is
# committed: the log and metrics.csv (logs/), the eval report (reports/NAME.json, .txt), the
# stage's facts (reports/NAME.stage.json) and a contact sheet (sheets/NAME.png).
#
# Measured at the bundled default sampler, fp32 on ONNX Runtime, seed 0, 50 samples per breed,
# so every row compares with the bundled model's (assets/generator/sampler.json).
#
# On a lent GPU machine (one call; see ../shared/notes/gpu.md for building gpu-bin/tinycats):
#   BIN=gpu-bin/tinycats DEVICE=cuda PER_CLASS=20000 BUDGET=420 COPY=$OUT bash bench/generator/stage.sh 03-gpu
#     BUDGET: seconds of training; the run is then stopped (SIGINT: it finishes its step,
#     checkpoints and writes its EMA weights), and its config, weights (15 MiB parts), log
#     and metrics are copied to COPY. Add EVAL=0 unless ONNX Runtime travelled with it
#     (carry .tinycats/onnxruntime); then measure here: join the parts into
#     runs/stages/NAME/model.safetensors beside its config.json and metrics.csv, put the log
#     in bench/generator/logs/, and run this script again (it finds the trained folder).
# Rehearse it here with a short dry run that skips the measurement:
#   DEVICE=cpu BUDGET=30 EVAL=0 COPY=/tmp/gpu-rehearsal bash bench/generator/stage.sh 03-gpu
set -euo pipefail
cd "$(dirname "$0")/../.."
name=${1:?usage: stage.sh NAME}
here=bench/generator
bin=${BIN:-target/release/tinycats}
device=${DEVICE:-auto}
init=${INIT:-assets/generator}
per_class=${PER_CLASS:-2000}
sampler=(--precision fp32 --steps 10 --solver heun --shift 1 --cfg-scale 3 --guidance-interval 0.3,1)
mkdir -p "$here/logs" "$here/reports" "$here/sheets"
cpu=$(sed -n 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1)
threads=$(nproc)

if [ "$name" = 00-bundled ]; then
  model=$init
  printf '{"name": "%s", "model": "%s", "cpu": "%s", "threads": %s}\n' "$name" "$init" "$cpu" "$threads" \
    > "$here/reports/$name.stage.json"
else
  config=$here/stages/$name.toml
  [ -f "$config" ] || { echo "no stage config $config" >&2; exit 2; }
  model=runs/stages/$name
  log=$here/logs/$name.log
  if [ ! -f "$model/model.safetensors" ]; then
    start=$(date +%s)
    limit=()
    if [ -n "${BUDGET:-}" ] && grep -q '^\[repa\]' "$config"; then
      # A stopped run's checkpoint holds REPA's projector too, which a model folder must not.
      echo "BUDGET stops a run before its end; $config trains with REPA: set max_steps instead" >&2
      exit 2
    fi
    [ -n "${BUDGET:-}" ] && limit=(timeout -s INT -k 120 "$BUDGET")
    "${limit[@]}" "$bin" train-generator --data synth --synth-per-class "$per_class" \
      --config "$config" --init-from "$init" --runs-dir runs/stages --name "$name" \
      --device "$device" 2>&1 | tee "$log" || [ "${PIPESTATUS[0]}" = 124 ] # 124: BUDGET ran out
    echo "wall $(( $(date +%s) - start )) s" >> "$log"
    if [ ! -f "$model/model.safetensors" ]; then
      # Stopped by BUDGET: the trainer checkpointed and asks for --resume. The stage's result
      # is the EMA weights of that checkpoint, as a finished run would have written them.
      last=$(ls -d "$model"/checkpoints/step-* | sort | tail -1)
      cp "$last/ema.safetensors" "$model/model.safetensors"
      echo "model.safetensors: the EMA weights of $last" | tee -a "$log"
    fi
  fi
  cp "$model/metrics.csv" "$here/logs/$name.metrics.csv"
  python3 - "$name" "$config" "$init" "$per_class" "$cpu" "$threads" "$log" > "$here/reports/$name.stage.json" <<'PY'
import csv, json, re, sys, tomllib
name, config, init, per_class, cpu, threads, log = sys.argv[1:]
run = tomllib.load(open(config, "rb"))
text = open(log).read()
rows = list(csv.DictReader(open(log.replace(".log", ".metrics.csv"))))
rates = sorted(float(r["images_per_s"]) for r in rows)
end = re.search(r"done after (\d+) steps|stopped at step (\d+)", text)  # finished | BUDGET
steps = int(end.group(1) or end.group(2))
batch = run.get("batch_size", 32)
decay = run["trainer"].get("ema_decay")
print(json.dumps({
    "name": name,
    "command": f"tinycats train-generator --data synth --synth-per-class {per_class} "
               f"--config {config} --init-from {init}",
    "init": init, "steps": steps, "batch": batch, "images": steps * batch,
    "wall_s": int(re.search(r"^wall (\d+) s", text, re.M).group(1)),
    "median_images_per_s": rates[len(rates) // 2],
    "precision": re.search(r"^precision: (.*)$", text, re.M).group(1),
    "device": re.search(r"^training .* on (\S+) into", text, re.M).group(1),
    "lr": run["trainer"]["lr"],
    # The trainer's warm-up: decay_k = min(decay, (1 + k) / (10 + k)) at update k.
    "ema_final_decay": None if decay is None else min(decay, steps / (steps + 9)),
    "cpu": cpu, "threads": int(threads),
}, indent=1))
PY
fi

if [ "${EVAL:-1}" != 0 ]; then
  # Every row is also measured in the REPA teacher's feature space (reports/NAME.teacher.json):
  # a stage aligned to the teacher that gains there and not in assets/features has leaked.
  also=()
  [ -f "$here/teacher/model.safetensors" ] &&
    also=(--also-features "$here/teacher" --also-report "$here/reports/$name.teacher.json")
  "$bin" eval generator --model "$model" --per-breed 50 "${sampler[@]}" \
    --report "$here/reports/$name.json" "${also[@]}" | tee "$here/reports/$name.txt"
  "$bin" sample --model "$model" --per-breed 4 "${sampler[@]}" --out "$here/sheets/$name.png"
fi
if [ -n "${COPY:-}" ]; then
  mkdir -p "$COPY/$name"
  cp "$model/config.json" "$COPY/$name/"
  split -b 15M -d "$model/model.safetensors" "$COPY/$name/model.safetensors.part"
  cp "$here"/logs/"$name".* "$here"/reports/"$name".* "$COPY/$name/" 2>/dev/null || true
  cp "$here/sheets/$name.png" "$COPY/$name/" 2>/dev/null || true
  echo "copied to $COPY/$name (join: cat model.safetensors.part* > model.safetensors)"
fi
echo "measured $name; now: python3 $here/table.py"
