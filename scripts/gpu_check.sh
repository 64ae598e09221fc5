#!/usr/bin/env bash
# Issue 9 GPU check: `clinr1 bench` at crpo-t4 settings (Qwen2.5-3B architecture with random
# weights, 4-bit NF4, fp16, LoRA r=16, G=8, 16 completions of 512 tokens a step), the Unsloth
# engine against plain TRL + PEFT + bitsandbytes, each in its own process, one after the other in
# this one call. About 6 minutes, under 8 (each engine is cut at ENGINE_TIMEOUT seconds).
#
# How to run it (device tool), from the project root, after building the packages here once:
#   ../shared/device/build-gpu-site.sh
#   run(command="mkdir -p /tmp/site && tar xzf .device/gpu-site.tar.gz -C /tmp/site && export PYTHONPATH=/tmp/site:$PWD && bash scripts/gpu_check.sh",
#       carry=[".device"], timeout_s=540)
# then give_back. Back in $OUT: bench-t4.json (the report), bench-t4.txt (the table),
# bench-t4.log (everything both engines printed), env.txt (nvidia-smi, versions).
# Copy the table, card, date and command into benchmarks/RESULTS.md ("Training step").
set -uo pipefail

OUT=${OUT:-/tmp/clinr1-gpu-check}
STEPS=${STEPS:-2}                    # measured steps per engine, after one warm-up step
ENGINE_TIMEOUT=${ENGINE_TIMEOUT:-200} # seconds per engine, model load included
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export CLINR1_CACHE=${CLINR1_CACHE:-/tmp/clinr1-cache}   # the random 3B (5.8 GB) is built here

{
  date -u +"date: %Y-%m-%dT%H:%M:%SZ"
  echo "commit: $(git rev-parse --verify -q HEAD 2>/dev/null || echo unknown) (plus the working tree)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  "$PY" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda)'
  "$PY" -m clinr1 version
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

if ! "$PY" -m clinr1 bench --help > /dev/null 2>&1; then
  echo "error: 'clinr1 bench' is not registered in clinr1.cli (app.command()(bench))" >&2
  exit 2
fi

# The data is the bundled demo vignettes: the GPU machine cannot download MedQA. Under the
# stand-in tokenizer a demo prompt is ~506 tokens, about a MedQA prompt's ~450 Qwen tokens.
start=$SECONDS
"$PY" -m clinr1 bench recipes/crpo-t4.yaml --random-init --engines unsloth,hf \
  --steps "$STEPS" --warmup 1 --timeout "$ENGINE_TIMEOUT" \
  --set 'data.train={name: demo}' --json "$OUT/bench-t4.json" > "$OUT/bench-t4.log" 2>&1
rc=$?
echo "bench exit code $rc after $((SECONDS - start)) s"
# The table is everything after the last blank line the bench prints before it.
awk 'BEGIN{RS=""} {last=$0} END{print last}' "$OUT/bench-t4.log" > "$OUT/bench-t4.txt"
grep -E '^\[(unsloth|hf)\] (step |engine:|Traceback|.*Error)' "$OUT/bench-t4.log" | tail -40
echo
cat "$OUT/bench-t4.txt"
exit $rc
