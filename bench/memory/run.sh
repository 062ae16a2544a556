#!/usr/bin/env bash
# The memory plan against measured peaks: for each shape, a random model of that shape healed for a few steps
# (full, full with activation checkpointing, LoRA), its peak RSS (/usr/bin/time) beside `layerchop plan`'s heal
# stage for the same settings. CPU, float32. Figures go to bench/RESULTS.md ("Memory plan").
# Usage: bench/memory/run.sh [SHAPE...]   (default: every shape below; 1b needs ~22 GiB free for full healing)
# Needs: dotnet build -c Release, tests/.data/brown (deploy/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
L="dotnet src/Client/bin/Release/net10.0/layerchop.dll"
work="${BENCH_WORK:-/tmp/layerchop-bench-memory}"
mkdir -p "$work"
seq_len="${SEQ_LEN:-128}"; micro="${MICRO:-2}"; steps="${STEPS:-3}"; methods="${METHODS:-full ckpt lora}"

# name layers hidden heads kv-heads intermediate vocab tie
declare -A shapes=(
  [s50m]="8 512 8 8 1408 32000 no"
  [s200m]="12 1024 16 8 2816 32000 no"
  [s600m]="16 1536 24 8 4096 128256 yes"
  [1b]="16 2048 32 8 8192 128256 yes"          # Llama-3.2-1B's shape
)
order=(s50m s200m s600m 1b)
[ $# -gt 0 ] && order=("$@")

if [ ! -f "$work/brown.jsonl" ]; then
python3 - "$work" <<'PY'
import json, os, re, sys
brown = "tests/.data/brown"
docs = []
for name in sorted(os.listdir(brown)):
    if re.fullmatch(r"c[a-r]\d\d", name):
        docs.append(json.dumps({"text": " ".join(t.rsplit("/", 1)[0] for t in open(os.path.join(brown, name)).read().split())}))
open(os.path.join(sys.argv[1], "brown.jsonl"), "w").write("\n".join(docs[:60]) + "\n")
PY
fi

printf "%-6s %-5s %12s %12s %8s %10s\n" shape method plan_GiB measured_GiB error tokens/s
for s in "${order[@]}"; do
  read -r l h a k i v tie <<<"${shapes[$s]}"
  model="$work/m-$s"
  if [ ! -f "$model/config.json" ]; then
    $L model init --layers "$l" --hidden "$h" --heads "$a" --kv-heads "$k" --intermediate "$i" --vocab "$v" \
      --max-positions 4096 $([ "$tie" = yes ] && echo --tie-embeddings) --seed 1 --out "$model" >/dev/null
  fi
  for method in $methods; do
    heal=pretrain; flags=(); ck=false
    case $method in
      ckpt) flags=(--activation-checkpointing); ck=true ;;
      lora) flags=(--heal-method lora); heal=lora ;;
    esac
    cat > "$work/plan-$s.yaml" <<YAML
name: plan-$s
base_model: $model
data: [$work/brown.jsonl]
eval: { tasks: [arc_easy], task_dir: $work }
grid: { remove: [0], strategy: [input], heal_tokens: [1000000], heal_method: [$heal] }
train: { seq_len: $seq_len, batch_tokens: $((seq_len * micro)), micro_batch: $micro, activation_checkpointing: $ck }
output: $work/out-$s
YAML
    planned=$($L plan "$work/plan-$s.yaml" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stages"]["heal"])')
    out="$work/run-$s-$method"; rm -rf "$out"
    /usr/bin/time -f "%M" -o "$work/rss" $L train "$model" --data "$work/brown.jsonl" --tokens $((seq_len * micro * steps)) \
      --seq-len "$seq_len" --batch-tokens $((seq_len * micro)) --micro-batch "$micro" --checkpoint-every 1000 --val-sequences 2 \
      --out "$out" --json "${flags[@]}" >"$work/steps-$s-$method" 2>"$work/log-$s-$method" || { echo "$s $method: train failed (see $work/log-$s-$method)"; continue; }
    measured=$(( $(tail -1 "$work/rss") * 1024 ))
    # tokens/s over the steps after the first (the first pays for allocation): from the per-step JSON lines.
    python3 - "$work/steps-$s-$method" "$planned" "$measured" "$s" "$method" <<'PY'
import json, sys
path, planned, measured, shape, method = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
steps = [json.loads(l) for l in open(path) if l.startswith('{"step"')]
rate = ""
if len(steps) >= 2:
    first, last = steps[0], steps[-1]
    seconds = last["tokens"] / last["tokens_per_s"] - first["tokens"] / first["tokens_per_s"]
    rate = f"{(last['tokens'] - first['tokens']) / seconds:.0f}"
print(f"{shape:<6} {method:<5} {planned / 2**30:12.2f} {measured / 2**30:12.2f} {100 * (planned - measured) / measured:+7.1f}% {rate:>10}")
PY
    rm -rf "$out"
  done
done
