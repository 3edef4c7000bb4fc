#!/usr/bin/env bash
# Runs one example under this CPU's own kernels and under every other kernel setting of
# `cargo xtask verify-docs --kernels` (avx2, sse41, mkl-compatible, one-thread), each a real
# check against the committed book, and tabulates what its chaotic steps declared stable
# (values and claims) side by side, with the stopping steps of its training runs.
#
#   bash bench/kernels/run.sh [EXAMPLE]        # default 06_train_classifier
#
# Writes bench/kernels/EXAMPLE.md (the table, the CPU, the date) and exits non-zero if any
# setting failed its check. Takes about 2.5 minutes a setting for 06_train_classifier on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/../.."
example="${1:-06_train_classifier}"
settings=(native avx2 sse41 mkl-compatible one-thread)
raw="target/tinycats-book/out/${example}.stdout"
keep="target/bench-kernels/${example}"
mkdir -p "$keep"
failed=()
for k in "${settings[@]}"; do
  args=(--force --no-book --example "$example")
  [ "$k" = native ] || args+=(--kernels "$k")
  echo "== $k: cargo xtask verify-docs ${args[*]}" >&2
  if cargo xtask verify-docs "${args[@]}" 2> "$keep/$k.log"; then status=pass; else status=FAIL; failed+=("$k"); fi
  cp "$raw" "$keep/$k.stdout" 2>/dev/null || : > "$keep/$k.stdout"
  mkdir -p "$keep/$k" && cp target/tinycats-book/out/"$example"/*.png "$keep/$k/" 2>/dev/null
  echo "$status" > "$keep/$k.status"
done

out="bench/kernels/${example}.md"
tmp="$out.tmp"
{
  echo "# ${example} under five kernel settings"
  echo
  echo "Made by \`bash bench/kernels/run.sh ${example}\` on $(date -u +%Y-%m-%d), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') ($(nproc) threads)."
  echo "Each column is \`cargo xtask verify-docs --force --no-book --example ${example} [--kernels NAME]\`,"
  echo "a check against the committed book; the rows are what the example printed: the steps"
  echo "its training runs stopped at, and every value and claim its chaotic steps declare"
  echo "stable (\`tinycats_notebook::stable\` / \`::claim\`)."
  echo
  printf '| |'; for k in "${settings[@]}"; do printf ' %s |' "$k"; done; echo
  printf '|---|'; for k in "${settings[@]}"; do printf '%s' '---|'; done; echo
  printf '| check |'; for k in "${settings[@]}"; do printf ' %s |' "$(cat "$keep/$k.status")"; done; echo
  printf '| chaotic images: skeleton differing |'
  for k in "${settings[@]}"; do
    v=$(grep -o '[0-9.]* % of its skeleton differs' "$keep/$k.log" | sed 's/ of its skeleton differs//' | paste -sd, -)
    printf ' %s |' "${v:-identical}"
  done
  echo
  # Stopping steps: "NAME stopped at step N (early: B); best val_loss V at step M"
  grep -h -o '^[a-z][a-z ]* stopped at step *[0-9]*' "$keep/native.stdout" | sed 's/ *stopped at step.*//' | while read -r run; do
    printf '| %s: stopped at (best) |' "$run"
    for k in "${settings[@]}"; do
      line=$(grep -m1 "^$run *stopped at step" "$keep/$k.stdout")
      printf ' %s (%s) |' "$(sed -E 's/.*stopped at step +([0-9]+).*/\1/' <<<"$line")" "$(sed -E 's/.* at step ([0-9]+), restored.*/\1/' <<<"$line")"
    done
    echo
  done
  grep -h '^@@tinycats-stable ' "$keep/native.stdout" | sed -E 's/^@@tinycats-stable rel=[^ ]+ abs=[^ ]+ (.*) = [^ ]+$/\1/' | while read -r name; do
    tol=$(printf '±%g' "$(grep -m1 -F " $name = " "$keep/native.stdout" | sed -E 's/^@@tinycats-stable rel=[^ ]+ abs=([^ ]+) .*/\1/')")
    printf '| %s (%s) |' "$name" "$tol"
    for k in "${settings[@]}"; do
      v=$(grep -m1 -F " $name = " "$keep/$k.stdout" | sed -E 's/.* = ([^ ]+)$/\1/')
      printf ' %.1f |' "${v:-nan}"
    done
    echo
  done
  grep -h '^@@tinycats-claim ' "$keep/native.stdout" | sed -E 's/^@@tinycats-claim [A-Z a-z]{0,0}(holds|FAILS) //' | while read -r claim; do
    printf '| claim: %s |' "$claim"
    for k in "${settings[@]}"; do
      grep -q -F "@@tinycats-claim holds $claim" "$keep/$k.stdout" && printf ' holds |' || printf ' **fails** |'
    done
    echo
  done
} > "$tmp" && mv "$tmp" "$out"
echo "wrote $out" >&2
[ ${#failed[@]} -eq 0 ] || { echo "failed: ${failed[*]} (logs in $keep/)" >&2; exit 1; }
