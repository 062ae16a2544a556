#!/usr/bin/env bash
# README's "Which GPU for which model": `layerchop plan` for the common models, unchopped and with half their
# layers removed, healed in bf16 at 2 x 4096 tokens a pass, full and LoRA, with and without checkpointing.
# Prints a markdown table (peak GiB of the heal stage; whether the peak fits the 78 GiB an H100 reports and the 139 GiB of an H200).
set -euo pipefail
cd "$(dirname "$0")/../.."
L="dotnet src/Client/bin/Release/net10.0/layerchop.dll"
work="${BENCH_WORK:-/tmp/layerchop-bench-gpu-table}"; mkdir -p "$work"
python3 bench/memory/models/make-configs.py "$work/models"
h100=78; h200=139   # GiB the devices report as total memory (an H100 80 GB, an H200 141 GB)
echo "| model | layers kept | heal | checkpointing | peak (heal) | H100 (78 GiB) | H200 (139 GiB) |"
echo "|---|---|---|---|---:|---|---|"
for model in llama-3.2-1b llama-3.2-3b llama-3.1-8b; do
  layers=$(python3 -c "import json; print(json.load(open('$work/models/$model/config.json'))['num_hidden_layers'])")
  for remove in 0 $((layers / 2)); do
    for method in pretrain lora; do
      for ck in false true; do
        cat > "$work/spec.yaml" <<YAML
name: table
base_model: $work/models/$model
data: [corpus.jsonl]
eval: { tasks: [arc_easy], task_dir: tasks }
grid: { remove: [$remove], strategy: [input], heal_tokens: [1000000000], heal_method: [$method] }
train: { seq_len: 4096, batch_tokens: 65536, micro_batch: 2, precision: bf16, activation_checkpointing: $ck }
output: $work/out
YAML
        $L plan "$work/spec.yaml" --json | python3 -c "
import json, sys
plan = json.load(sys.stdin)[0]; heal = plan['stages']['heal'] / 2**30
fit = lambda gib: 'yes' if plan['peak_bytes'] / 2**30 <= gib else 'no'
print(f'| $model | $((layers - remove)) of $layers | ${method/pretrain/full} | ${ck/false/off} | {heal:.1f} GiB | {fit($h100)} | {fit($h200)} |'.replace('| true |', '| on |'))"
      done
    done
  done
done
