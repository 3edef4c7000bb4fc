#!/usr/bin/env bash
# Sampler settings on the bundled generator: `tinycats eval generator`, 50 samples per breed,
# seed 0 for every row, 200 bootstrap resamples. Each row's JSON report lands in
# bench/sampler/reports/; a row whose report exists is skipped (FORCE=1 measures it again).
# `python3 bench/sampler/table.py` writes bench/sampler/sweep.md.
#
# The weak guide of the autoguidance rows is the generator bundled before the GPU-trained one:
# 8,000 CPU steps on 2,000 renders per breed, the same architecture and classes (commit
# d1e6b6c's assets/generator), taken out of git history into target/guides/cpu-gen. The
# skip-block guides are the bundled model with one block left out (bench/sampler/skip_guide.py,
# which needs `pip install --target .tinycats/py safetensors numpy`); a guide named with a
# trailing u is that model's unconditional branch (every label embedding the null label's).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=target/release/tinycats
out=bench/sampler/reports
mkdir -p "$out"
weak=target/guides/cpu-gen
if [ ! -f "$weak/model.onnx" ]; then
  mkdir -p "$weak"
  for f in config.json model.onnx; do git show "d1e6b6c:assets/generator/$f" > "$weak/$f.partial"; mv "$weak/$f.partial" "$weak/$f"; done
fi
guide() { # NAME SKIP_GUIDE_ARGS...: target/guides/NAME, cut once, with its ONNX graph
  local dir=target/guides/$1; shift
  if [ ! -f "$dir/model.onnx" ]; then
    PYTHONPATH=.tinycats/py python3 bench/sampler/skip_guide.py "$dir" "$@"
    "$bin" export onnx --model "$dir" --out "$dir/model.onnx"
  fi
}
for block in 1 2; do
  guide "skip$block" "$block"
  guide "skip${block}u" "$block" --unconditional
done
# The guide made for the purpose (bench/sampler/guides/train.sh mid4 2 3: the bundled model
# without blocks 2 and 3, its four blocks trained together again) and its unconditional branch.
if [ -f target/guides/mid4/model.onnx ]; then
  guide mid4u --unconditional --source target/guides/mid4
fi
# Every row spells out the whole sampler: a flag it leaves out gets the setting the sweep
# started from (the library default before it), not what the model's sampler.json says now.
explicit() {
  local args=" $* " flag value
  for pair in steps=20 solver=euler shift=1 cfg-scale=4 guidance-interval=0,1; do
    flag=${pair%%=*}; value=${pair#*=}
    case "$args" in *" --$flag "*) ;; *) args="$args --$flag $value" ;; esac
  done
  echo $args
}
row() {
  name=$1; shift
  if [ -f "$out/$name.json" ] && [ -z "${FORCE:-}" ]; then return; fi
  case " $* " in *" --guide-model target/guides/mid4"*)
    if [ ! -f target/guides/mid4/model.onnx ]; then
      echo "== $name: skipped, no target/guides/mid4 (bash bench/sampler/guides/train.sh mid4 2 3 makes it)" >&2
      return
    fi ;;
  esac
  set -- $(explicit "$@")
  echo "== $name: tinycats eval generator --per-breed 50 $*" >&2
  start=$(date +%s)
  "$bin" eval generator --per-breed 50 --report "$out/$name.json" "$@" > "$out/$name.txt" 2>&1
  sed -i "/^$name /d" "$out/times.txt" 2>/dev/null || true
  echo "$name $(( $(date +%s) - start )) s" >> "$out/times.txt"
  sed -i "/^$name\t/d" "$out/machines.txt" 2>/dev/null || true
  printf '%s\t%s\n' "$name" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" >> "$out/machines.txt"
}
# Guidance scale, solver and steps, int8 against fp32 (every step guided).
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
# Guidance in an interval of t (0 = noise, 1 = data).
row fp32-euler20-cfg4-i0.2-0.8 --precision fp32 --guidance-interval 0.2,0.8
row fp32-euler20-cfg4-i0.3-1 --precision fp32 --guidance-interval 0.3,1
row fp32-euler20-cfg4-i0.1-0.6 --precision fp32 --guidance-interval 0.1,0.6
row fp32-euler20-cfg6-i0.2-0.8 --precision fp32 --cfg-scale 6 --guidance-interval 0.2,0.8
row fp32-euler20-cfg3-i0.2-0.8 --precision fp32 --cfg-scale 3 --guidance-interval 0.2,0.8
# Autoguidance by the weak generator.
row fp32-euler20-auto2 --precision fp32 --cfg-scale 2 --guide-model "$weak"
row fp32-euler20-auto3 --precision fp32 --cfg-scale 3 --guide-model "$weak"
row fp32-heun10-cfg4-i0.2-0.8 --precision fp32 --solver heun --steps 10 --guidance-interval 0.2,0.8
# Autoguidance in an interval: the guide's variety early, none of its grain late.
row fp32-euler20-auto2-i0-0.7 --precision fp32 --cfg-scale 2 --guidance-interval 0,0.7 --guide-model "$weak"
row fp32-euler20-auto1.5 --precision fp32 --cfg-scale 1.5 --guide-model "$weak"
row fp32-euler20-auto2.5-i0-0.5 --precision fp32 --cfg-scale 2.5 --guidance-interval 0,0.5 --guide-model "$weak"
# Heun at no more network evaluations than today's default, and the time grid's shift.
row fp32-heun10-cfg3-i0.2-0.8 --precision fp32 --solver heun --steps 10 --cfg-scale 3 --guidance-interval 0.2,0.8
row fp32-heun10-cfg4-i0.3-1 --precision fp32 --solver heun --steps 10 --guidance-interval 0.3,1
row fp32-euler20-cfg4-shift0.5 --precision fp32 --shift 0.5
row fp32-euler20-cfg4-shift2 --precision fp32 --shift 2
row fp32-heun10-auto2 --precision fp32 --solver heun --steps 10 --cfg-scale 2 --guide-model "$weak"
row fp32-heun10-cfg3-i0.3-1 --precision fp32 --solver heun --steps 10 --cfg-scale 3 --guidance-interval 0.3,1
row fp32-euler20-auto1.5-i0.5-1 --precision fp32 --cfg-scale 1.5 --guidance-interval 0.5,1 --guide-model "$weak"
# int8 against fp32 at the chosen default (Heun, 10 steps, guidance 3 at t in [0.3, 1]).
row int8-heun10-cfg3-i0.3-1 --precision int8 --solver heun --steps 10 --cfg-scale 3 --guidance-interval 0.3,1
# Rows measured since the commit 'one seed derivation' (2026-12-06), whose reference set and
# bootstrap draws differ from the rows above: the default again, as their yardstick.
row fp32-heun10-cfg3-i0.3-1-rerun --precision fp32 --solver heun --steps 10 --cfg-scale 3 --guidance-interval 0.3,1
# Autoguidance by the bundled model with one block left out: a weaker model of the same
# family that needs no training (skip-layer guidance); the guide draws the breed too, so the
# scale is the only guidance.
row fp32-heun10-skip1-1.5 --precision fp32 --solver heun --steps 10 --cfg-scale 1.5 --guide-model target/guides/skip1
row fp32-heun10-skip2-1.5 --precision fp32 --solver heun --steps 10 --cfg-scale 1.5 --guide-model target/guides/skip2
row fp32-heun10-skip1-2-i0.3-1 --precision fp32 --solver heun --steps 10 --cfg-scale 2 --guidance-interval 0.3,1 --guide-model target/guides/skip1
# The same guides' unconditional branch, in the default's interval and cost: class guidance
# and a weaker model's guidance in one reference evaluation.
row fp32-heun10-skip2u-3-i0.3-1 --precision fp32 --solver heun --steps 10 --cfg-scale 3 --guidance-interval 0.3,1 --guide-model target/guides/skip2u
row fp32-heun10-skip2u-2-i0.3-1 --precision fp32 --solver heun --steps 10 --cfg-scale 2 --guidance-interval 0.3,1 --guide-model target/guides/skip2u
row fp32-heun10-skip1u-3-i0.3-1 --precision fp32 --solver heun --steps 10 --cfg-scale 3 --guidance-interval 0.3,1 --guide-model target/guides/skip1u
row fp32-heun10-skip2u-1.5-i0.3-1 --precision fp32 --solver heun --steps 10 --cfg-scale 1.5 --guidance-interval 0.3,1 --guide-model target/guides/skip2u
row fp32-heun10-skip2u-2-i0.3-0.8 --precision fp32 --solver heun --steps 10 --cfg-scale 2 --guidance-interval 0.3,0.8 --guide-model target/guides/skip2u
# A weaker model made for the purpose: the bundled model without blocks 2 and 3, its four
# blocks trained together again for 2,400 steps, so that the guide is whole, only smaller.
row fp32-heun10-mid4-2-i0.3-1 --precision fp32 --solver heun --steps 10 --cfg-scale 2 --guidance-interval 0.3,1 --guide-model target/guides/mid4
row fp32-heun10-mid4u-2-i0.3-1 --precision fp32 --solver heun --steps 10 --cfg-scale 2 --guidance-interval 0.3,1 --guide-model target/guides/mid4u
row fp32-heun10-mid4u-3-i0.3-1 --precision fp32 --solver heun --steps 10 --cfg-scale 3 --guidance-interval 0.3,1 --guide-model target/guides/mid4u
row fp32-heun10-mid4u-2-i0.1-1 --precision fp32 --solver heun --steps 10 --cfg-scale 2 --guidance-interval 0.1,1 --guide-model target/guides/mid4u
row fp32-heun10-mid4u-2.5-i0.3-1 --precision fp32 --solver heun --steps 10 --cfg-scale 2.5 --guidance-interval 0.3,1 --guide-model target/guides/mid4u
row fp32-heun10-mid4u-2-i0.1-0.8 --precision fp32 --solver heun --steps 10 --cfg-scale 2 --guidance-interval 0.1,0.8 --guide-model target/guides/mid4u
row fp32-heun10-mid4u-2.5-i0.1-0.8 --precision fp32 --solver heun --steps 10 --cfg-scale 2.5 --guidance-interval 0.1,0.8 --guide-model target/guides/mid4u
row fp32-heun10-mid4u-2-i0.2-0.8 --precision fp32 --solver heun --steps 10 --cfg-scale 2 --guidance-interval 0.2,0.8 --guide-model target/guides/mid4u
