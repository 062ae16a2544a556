#!/usr/bin/env bash
# LayerChop on a GPU machine in one command (bench/gpu/README.md): every step bounded in time, each leaving its
# JSON in $OUT/summary.json (rewritten after every step) and its log in $OUT/<step>.log, so a step that fails or
# runs out of time leaves the others' results.
#   a  setup (the .NET runtime, the app, libtorch from the machine's PyTorch), the binding check of
#      libLibTorchSharp.so against that libtorch (rebuilt from the carried sources when it does not bind; the
#      rebuilt library goes to $OUT for the next run to carry), then CUDA: a matmul, free memory
#   b  parity with transformers: Llama (GQA, llama3 rope), Mistral, Qwen2 folders it builds, float32 and bf16;
#      a folder `layerchop chop` wrote, loaded by transformers; the committed CPU fixtures; new fixtures to $OUT
#   c  one healing step at a Llama-3.2-1B shape (bf16, seq 2048): LayerChop vs PyTorch eager, tokens/s, MFU
#   d  scoring requests/s and ms per generated token, unchopped vs 50% chopped
#   e  a one-slot sweep end to end (two candidates chop, heal, evaluate) on the device
#
#   run.sh            on a GPU machine, from bench/gpu/carry (pack.sh)
#   run.sh --cpu      the same steps with tiny shapes on the CPU, from the Release build (steps that need
#                     PyTorch or transformers say in one line that they are skipped when Python lacks them)
#   run.sh --cpu --packed   the CPU run from bench/gpu/carry instead, libtorch from the NuGet cache
#   run.sh --only=c,d       only these steps (a rerun of the ones that failed); setup and the binding check always run
# Environment: OUT (default /tmp/layerchop-gpu-out), LAYERCHOP_CONFIGURATION (the build --cpu uses, default Release), LAYERCHOP_GPU_BUDGET (seconds for all steps, default 420),
# LAYERCHOP_GPU_MICRO_BATCH (step c's sequences per step on the GPU, default 4), PEAK_TFLOPS (the device's dense
# bf16 peak for MFU; default 989, an H100 SXM's and an H200's).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
mode=gpu packed=1
only=abcde
for arg in "$@"; do
  case $arg in
    --cpu) mode=cpu; packed=0 ;;
    --packed) packed=1 ;;
    --only=*) only=${arg#--only=}; only=${only//,/} ;;
    *) echo "run.sh: unknown argument '$arg'; use --cpu, --packed, --only=b,c (steps to run; setup and the binding check always run)" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-/tmp/layerchop-gpu-out}
WORK=${LAYERCHOP_GPU_WORK:-/tmp/layerchop-gpu-work}
BUDGET=${LAYERCHOP_GPU_BUDGET:-420}
PEAK_TFLOPS=${PEAK_TFLOPS:-989}
carry=$root/bench/gpu/carry
mkdir -p "$OUT" && rm -rf "$WORK" && mkdir -p "$WORK/steps" || { echo "run.sh: cannot create $OUT and $WORK" >&2; exit 1; }
started=$(date +%s)
export OUT WORK mode root PEAK_TFLOPS

# ---- summary: $WORK/steps/<step>.json (the step's own result) + .meta (status, seconds) -> $OUT/summary.json
summarize() {
  python3 - "$WORK/steps" "$OUT/summary.json" "$mode" <<'PY'
import json, os, sys
steps, out, mode = sys.argv[1:4]
summary = {"mode": mode, "steps": {}}
for name in sorted({f.split(".")[0] for f in os.listdir(steps)}):
    entry = {}
    meta = os.path.join(steps, name + ".meta")
    if os.path.exists(meta):
        entry.update(json.load(open(meta)))
    result = os.path.join(steps, name + ".json")
    if os.path.exists(result):
        try:
            entry["result"] = json.load(open(result))
        except ValueError as e:
            entry["result_error"] = f"{name}.json is not JSON: {e}"
    summary["steps"][name] = entry
json.dump(summary, open(out + ".tmp", "w"), indent=1)
os.replace(out + ".tmp", out)
PY
}

# step NAME CAP FUNCTION: FUNCTION runs in its own process group for at most CAP seconds (less when the budget
# is nearly spent), its output appended to $OUT/<log>.log; it writes $WORK/steps/NAME.json itself.
step() {
  local name=$1 cap=$2 fn=$3 log=$OUT/${4:-$1}.log left t0 rc status
  [[ $only == *${name:0:1}* || $name == a1-bind || $name == a2-* ]] || return 0
  left=$(( BUDGET - ($(date +%s) - started) ))
  (( cap > left )) && cap=$left
  if (( cap < 10 )); then
    echo "{\"status\": \"not run\", \"reason\": \"the time budget of ${BUDGET} s was spent\"}" > "$WORK/steps/$name.meta"
    summarize; echo "$name: not run (time budget spent)"; return
  fi
  echo "== $name (at most ${cap} s)" | tee -a "$log"
  t0=$(date +%s.%N)
  STEP=$name timeout -k 10 "$cap" bash -c "$fn" >> "$log" 2>&1
  rc=$?
  case $rc in 0) status=ok ;; 124|137) status=timeout ;; *) status=failed ;; esac
  [[ $rc == 0 && -f $WORK/steps/$name.skipped ]] && status=skipped   # a skipped part, and the rest passed
  printf '{"status": "%s", "exit_code": %d, "seconds": %.1f, "log": "%s"}\n' "$status" "$rc" \
    "$(echo "$(date +%s.%N) - $t0" | awk '{print $1 - $3}')" "$(basename "$log")" > "$WORK/steps/$name.meta"
  summarize
  echo "$name: $status ($(tail -1 "$log" | cut -c1-200))"
}
export -f summarize

fail_setup() {
  echo "{\"error\": \"$1\"}" > "$WORK/steps/a0-setup.json"
  echo '{"status": "failed"}' > "$WORK/steps/a0-setup.meta"
  summarize; echo "run.sh: $1" >&2; exit 1
}

# ---- setup (in this shell: later steps need what it finds) -------------------------------------------------
command -v python3 >/dev/null || { echo "run.sh: python3 is needed (for the summary)" >&2; exit 1; }
if [[ $mode == gpu ]]; then
  PY=/opt/torch/.venv/bin/python3
  [[ -x $PY ]] || PY=python3
  TORCH_DIR=$("$PY" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null) ||
    fail_setup "$PY cannot import torch: this machine has no PyTorch to take libtorch from"
  TORCH_LIB=$TORCH_DIR/lib
  DEV=cuda
else
  PY=python3
  TORCH_DIR=""
  DEV=cpu
fi
if [[ $packed == 1 ]]; then
  for f in app.tar.xz dotnet-runtime.tar.xz; do
    [[ -f $carry/$f ]] || fail_setup "no $carry/$f: run bench/gpu/pack.sh here first and name bench/gpu/carry in the call's carry"
  done
  # tar.xz through xz, or through Python's lzma where the machine has no xz.
  unpack() { mkdir -p "$2" && if command -v xz >/dev/null; then tar -xJf "$1" -C "$2"; else
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"; fi; }
  APP=$WORK/app && unpack "$carry/app.tar.xz" "$APP" || fail_setup "cannot unpack $carry/app.tar.xz"
  if ! dotnet --list-runtimes 2>/dev/null | grep -q '^Microsoft.NETCore.App 10\.'; then
    export DOTNET_ROOT=$WORK/dotnet && unpack "$carry/dotnet-runtime.tar.xz" "$DOTNET_ROOT" || fail_setup "cannot unpack $carry/dotnet-runtime.tar.xz"
    export PATH=$DOTNET_ROOT:$PATH
    # Without ICU the runtime would refuse to start; LayerChop needs no culture data.
    ldconfig -p 2>/dev/null | grep -q libicuuc || export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
    dotnet_source=carried
  else
    dotnet_source=installed
  fi
  if [[ $mode == cpu ]]; then
    TORCH_LIB=$(ls -d "${NUGET_PACKAGES:-$HOME/.nuget/packages}"/libtorch-cpu-linux-x64/*/runtimes/linux-x64/native 2>/dev/null | tail -1)
    [[ -d $TORCH_LIB ]] || fail_setup "no libtorch-cpu-linux-x64 in the NuGet cache to stand in for a GPU machine's libtorch"
  fi
  L="dotnet $APP/layerchop.dll" B="dotnet $APP/layerchop-bench.dll"
else
  configuration=${LAYERCHOP_CONFIGURATION:-Release}
  APP=$root/src/Client/bin/$configuration/net10.0
  BENCH=$root/bench/Engine.Bench/bin/$configuration/net10.0
  [[ -f $APP/layerchop.dll && -f $BENCH/layerchop-bench.dll ]] ||
    fail_setup "no $configuration build: run dotnet build LayerChop.sln -c $configuration first"
  TORCH_LIB=$APP/runtimes/linux-x64/native
  L="dotnet $APP/layerchop.dll" B="dotnet $BENCH/layerchop-bench.dll"
  dotnet_source=installed
fi
LIB=$APP/libLibTorchSharp.so
[[ -f $LIB ]] || LIB=$APP/runtimes/linux-x64/native/libLibTorchSharp.so
# A library an earlier run rebuilt against this libtorch, carried back, goes first.
if [[ $mode == gpu && -f $carry/libLibTorchSharp.so ]]; then cp "$carry/libLibTorchSharp.so" "$LIB"; lib_source=carried-rebuild; else lib_source=package; fi
export LD_LIBRARY_PATH=$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LAYERCHOP_DEBUG=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export PY TORCH_DIR TORCH_LIB DEV APP L B LIB carry
# Importing torch and transformers takes seconds: asked once, for every step.
"$PY" -c 'import torch, transformers, safetensors' 2>/dev/null && HAVE_TRANSFORMERS=1 || HAVE_TRANSFORMERS=0
export HAVE_TRANSFORMERS
have_transformers() { [[ $HAVE_TRANSFORMERS == 1 ]]; }
skip() { echo "$1"; touch "$WORK/steps/$2.skipped"; }
export -f have_transformers skip
python3 - "$WORK/steps/a0-setup.json" <<PY
import json, sys
json.dump({"mode": "$mode", "packed": $packed, "dotnet": "$dotnet_source", "torch_lib": "$TORCH_LIB",
           "libtorchsharp": "$lib_source", "python": "$PY"}, open(sys.argv[1], "w"))
PY
echo '{"status": "ok"}' > "$WORK/steps/a0-setup.meta"

# Shared inputs: a corpus of real English (this repository's documentation) as documents of ~150 words.
python3 - "$root" "$WORK" <<'PY'
import json, os, re, sys
root, work = sys.argv[1:3]
words = []
for name in ("README.md", "bench/RESULTS.md", "bench/gpu/README.md"):
    path = os.path.join(root, name)
    if os.path.exists(path):
        # Prose words only: no markdown tables, code or paths, whose long "words" a byte-level tokenizer
        # would turn into continuations longer than a small model's context.
        words += [w for w in open(path, encoding="utf-8").read().split() if len(w) <= 16 and re.fullmatch(r"[A-Za-z][A-Za-z'-]*[.,;:]?", w)]
docs = [" ".join(words[i:i + 150]) for i in range(0, len(words) - 150, 150)]
os.makedirs(f"{work}/data/tasks", exist_ok=True)
with open(f"{work}/data/train.jsonl", "w") as f:
    for d in docs: f.write(json.dumps({"text": d}) + "\n")
with open(f"{work}/data/tasks/continuation.jsonl", "w") as f:
    for d in docs[::3]: f.write(json.dumps({"text": d}) + "\n")
text = "\n\n".join(docs)
open(f"{work}/data/corpus.txt", "w").write(text * max(1, 400_000 // len(text) + 1))
PY

# ---- a: binding check (and rebuild), then CUDA ----------------------------------------------------------------
bind_check() {
  set -o pipefail
  python3 - "$LIB" "$TORCH_LIB" "$WORK/steps/$STEP.json" <<'PY'
import glob, json, os, subprocess, sys
lib, torch_lib, out = sys.argv[1:4]
env = dict(os.environ, LD_BIND_NOW="1")
ldd = subprocess.run(["ldd", "-r", lib], capture_output=True, text=True, env=env)
lines = (ldd.stdout + ldd.stderr).splitlines()
undefined = [l.split("undefined symbol:")[1].split()[0] for l in lines if "undefined symbol:" in l]
missing_libs = [l.split()[0] for l in lines if "=> not found" in l]
resolved = [l.split("=>")[1].split("(")[0].strip() for l in lines if "=>" in l and "not found" not in l]
def symbols(path, undefined_only):
    r = subprocess.run(["nm", "-D", "--undefined-only" if undefined_only else "--defined-only", path], capture_output=True, text=True)
    kinds = ("U",) if undefined_only else None          # weak references ('w') may stay unresolved
    return {l.split()[-1].split("@")[0] for l in r.stdout.splitlines() if l.strip() and (kinds is None or l.split()[-2] in kinds)}
result = {"library": lib, "torch_lib": torch_lib, "ldd_undefined": len(undefined), "ldd_undefined_first": undefined[:10],
          "missing_libraries": missing_libs,
          # A weak version requirement (the build marks GLIBCXX_3.4.32 weak) is reported but does not stop loading.
          "version_notes": [l.strip() for l in lines if "version `" in l][:5]}
try:
    exported = set()
    for so in resolved:
        if os.path.exists(so): exported |= symbols(so, False)
    # libtorch's own symbols (namespaces at, c10, torch, caffe2 as the C++ mangling spells them) that the
    # library needs and the machine's libraries do not export: what a libtorch version change breaks.
    needed = {s for s in symbols(lib, True) if any(n in s for n in ("2at", "3c10", "5torch", "6caffe2"))}
    missing = sorted(needed - exported)
    result["torch_symbols_needed"] = len(needed)
    result["torch_symbols_missing"] = len(missing)
    result["torch_symbols_missing_first"] = missing[:10]
except FileNotFoundError:
    result["nm"] = "not installed: symbols not compared"
result["binds"] = not undefined and not missing_libs and not result.get("torch_symbols_missing")
json.dump(result, open(out, "w"))
print(json.dumps(result))
sys.exit(0 if result["binds"] else 1)
PY
}
rebuild() {
  if [[ $mode == cpu ]]; then skip "rebuild of libLibTorchSharp.so: skipped here (no libtorch headers on a CPU build machine)" a2-rebuild; return 0; fi
  TORCH_PYTHON=$PY bash "$root/bench/gpu/build-libtorchsharp.sh" "$carry/torchsharp-native.tar.xz" "$TORCH_DIR" "$WORK/libLibTorchSharp.so" &&
    cp "$WORK/libLibTorchSharp.so" "$LIB" && cp "$WORK/libLibTorchSharp.so" "$OUT/libLibTorchSharp.so" &&
    echo "{\"rebuilt\": true, \"copied_to\": \"\$OUT/libLibTorchSharp.so\"}" > "$WORK/steps/a2-rebuild.json"
}
cuda_check() {
  set -o pipefail
  LD_BIND_NOW=1 $B device --device "$DEV" > "$WORK/a3-device.json" || return 1
  python3 - "$WORK/a3-device.json" "$WORK/steps/a3-device.json" <<'PY'
import json, subprocess, sys
result = json.load(open(sys.argv[1]))
try:
    q = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,memory.free,driver_version", "--format=csv,noheader,nounits"],
                       capture_output=True, text=True, timeout=20)
    name, total, free, driver = [x.strip() for x in q.stdout.splitlines()[0].split(",")]
    result["gpu"] = {"name": name, "memory_total_mib": int(total), "memory_free_mib": int(free), "driver": driver}
except (FileNotFoundError, IndexError, ValueError):
    result["gpu"] = None
json.dump(result, open(sys.argv[2], "w"))
print(json.dumps(result))
PY
}
export -f bind_check rebuild cuda_check
step a1-bind 30 bind_check a
if ! grep -q '"binds": true' "$WORK/steps/a1-bind.json" 2>/dev/null; then
  step a2-rebuild 300 rebuild a
  [[ -f $WORK/steps/a2-rebuild.json ]] && step a2-bind-rebuilt 30 bind_check a
fi
step a3-device 90 cuda_check a

# ---- b: parity --------------------------------------------------------------------------------------------------
parity() {
  set -o pipefail
  local lines=$WORK/b-parity.jsonl fixtures failed=0
  : > "$lines"
  # Every check runs even after one fails; the step fails at the end if any did.
  check() { $B parity "$@" --device "$DEV" | tee -a "$lines" || failed=1; }
  fixtures=$(ls -d "$root"/tests/Engine.Tests/Parity/fixtures/*/ 2>/dev/null)
  [[ -n $fixtures ]] && check $fixtures --dtype f32
  if have_transformers; then
    if "$PY" "$root/bench/gpu/parity_models.py" build "$WORK/parity-fixture" --size fixture &&
       "$PY" "$root/bench/gpu/parity_models.py" build "$WORK/parity-small" --size small; then
      tar -czf "$OUT/parity-fixtures.tar.gz" -C "$WORK" parity-fixture
      check "$WORK"/parity-fixture/*/ "$WORK"/parity-small/*/ --dtype f32,bf16
      # The other direction: a folder LayerChop's chop wrote, loaded by transformers.
      $L chop "$WORK/parity-small/llama-gqa-llama3rope" --strategy input --remove 2 --out "$WORK/parity-chopped" &&
        "$PY" "$root/bench/gpu/parity_models.py" reference "$WORK/parity-chopped" &&
        check "$WORK/parity-chopped" --dtype f32,bf16 || failed=1
    else
      failed=1
    fi
  else
    skip "b: transformers is not importable by $PY here: no transformers models; LayerChop checked against its own reference (plumbing only, not a parity figure)" b-parity
    $L model init --layers 2 --hidden 32 --heads 4 --kv-heads 2 --intermediate 64 --vocab 300 --out "$WORK/self" > /dev/null &&
      $B reference "$WORK/self" "$WORK/self/reference.safetensors" > /dev/null && check "$WORK/self" --dtype f32,bf16 || failed=1
  fi
  python3 -c 'import json, sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1]) if l.strip()]))' "$lines" > "$WORK/steps/b-parity.json"
  return $failed
}
export -f parity
step b-parity 150 parity b

# ---- c: training throughput --------------------------------------------------------------------------------------
if [[ $mode == gpu ]]; then
  SHAPE="--layers 16 --hidden 2048 --heads 32 --kv-heads 8 --intermediate 8192 --vocab 128256"; SEQ=2048; MB=${LAYERCHOP_GPU_MICRO_BATCH:-4}; STEPS=12
  CHOP=8 SERVE="--dtype bf16 --questions 256 --batch 32 --prompt 128 --new 64" HEAL=8192 EVAL_LIMIT=16
else
  SHAPE="--layers 4 --hidden 64 --heads 4 --kv-heads 2 --intermediate 128 --vocab 512"; SEQ=64; MB=2; STEPS=6
  CHOP=2 SERVE="--dtype f32 --questions 16 --batch 16 --prompt 32 --new 16" HEAL=2048 EVAL_LIMIT=8
fi
export SHAPE SEQ MB STEPS CHOP SERVE HEAL EVAL_LIMIT
make_base() {
  [[ -f $WORK/base/config.json ]] || $L model init $SHAPE --tie-embeddings --max-positions $(( SEQ > 256 ? SEQ : 256 )) --dtype bf16 --seed 1 --out "$WORK/base" > /dev/null
}
train() {
  set -o pipefail
  make_base || return 1
  $L model inspect "$WORK/base" --json > "$WORK/c-inspect.json" || return 1
  $L train "$WORK/base" --data "$WORK/data/corpus.txt" --tokens $((STEPS * MB * SEQ)) --seq-len "$SEQ" --batch-tokens $((MB * SEQ)) \
     --micro-batch "$MB" --precision bf16 --device "$DEV" --heldout-per-mille 0 --warmup-steps 1 --checkpoint-every 100000 \
     --json --out "$WORK/c-run" > "$WORK/c-layerchop.jsonl" || return 1
  if have_transformers; then
    "$PY" "$root/bench/gpu/torch_train.py" $SHAPE --tie --seq "$SEQ" --batch "$MB" --steps "$STEPS" > "$WORK/c-torch.json" || return 1
  else
    skip "c: PyTorch/transformers is not importable by $PY here: LayerChop's step only, no PyTorch eager figure" c-train
  fi
  python3 - "$WORK" "$mode" "$PEAK_TFLOPS" <<'PY'
import json, os, sys
work, mode, peak = sys.argv[1], sys.argv[2], float(sys.argv[3])
inspect = json.load(open(f"{work}/c-inspect.json"))
steps = [s for s in (json.loads(l) for l in open(f"{work}/c-layerchop.jsonl") if l.strip().startswith("{")) if "tokens_per_s" in s]
# train --json reports the average rate since the run started; its time at each step is tokens / rate, and the
# steady rate is measured from the end of step 2 (the first steps include CUDA's warm-up) to the last.
times = [s["tokens"] / s["tokens_per_s"] for s in steps]
first = 2 if len(steps) > 3 else 0
lc = (steps[-1]["tokens"] - (steps[first - 1]["tokens"] if first else 0)) / (times[-1] - (times[first - 1] if first else 0))
params = inspect["params"]
result = {"shape": inspect, "seq": int(os.environ["SEQ"]), "micro_batch": int(os.environ["MB"]), "steps": int(os.environ["STEPS"]),
          "layerchop_tokens_per_s": lc, "layerchop_tokens_per_s_with_warmup": steps[-1]["tokens_per_s"], "layerchop_precision": "bf16 compute, fp32 master weights and AdamW state",
          "flops_per_token": "6 x params (params = every stored tensor, the tied embedding once; attention scores not counted)"}
if mode == "gpu":
    result["peak_bf16_tflops"] = peak
    result["layerchop_mfu"] = 6 * params * lc / (peak * 1e12)
if os.path.exists(f"{work}/c-torch.json"):
    torch = json.load(open(f"{work}/c-torch.json"))
    result["pytorch"] = torch
    result["ratio_layerchop_to_pytorch"] = lc / torch["tokens_per_s"]
    if mode == "gpu": result["pytorch_mfu"] = 6 * torch["params"] * torch["tokens_per_s"] / (peak * 1e12)
json.dump(result, open(f"{work}/steps/c-train.json", "w"))
print(json.dumps(result))
PY
}
export -f make_base train
step c-train 200 train c

# ---- d: evaluation speed, unchopped vs 50% chopped ---------------------------------------------------------------
serve() {
  set -o pipefail
  make_base || return 1
  $L chop "$WORK/base" --strategy input --remove "$CHOP" --out "$WORK/chopped" > /dev/null || return 1
  $B serve "$WORK/base" --device "$DEV" $SERVE > "$WORK/d-base.json" &&
  $B serve "$WORK/chopped" --device "$DEV" $SERVE > "$WORK/d-chopped.json" || return 1
  # The command-line path on the same device: eval and generate.
  $L eval "$WORK/chopped" --tasks continuation --task-dir "$WORK/data/tasks" --limit "$EVAL_LIMIT" --device "$DEV" --dtype bf16 --json > "$WORK/d-eval.json" || return 1
  $L generate "$WORK/chopped" --prompt "The layers" --max-new-tokens 8 --device "$DEV" --dtype bf16 > /dev/null || return 1
  python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
base, chopped = (json.load(open(f"{work}/d-{n}.json")) for n in ("base", "chopped"))
result = {"unchopped": base, "chopped": chopped,
          "latency_ratio_chopped_to_unchopped": chopped["ms_per_token"] / base["ms_per_token"],
          "requests_per_s_ratio": chopped["requests_per_s"] / base["requests_per_s"],
          "eval_cli": json.load(open(f"{work}/d-eval.json"))}
json.dump(result, open(f"{work}/steps/d-serve.json", "w"))
print(json.dumps({k: v for k, v in result.items() if k != "eval_cli"}))
PY
}
export -f serve
step d-serve 100 serve d

# ---- e: a one-slot sweep end to end --------------------------------------------------------------------------------
sweep() {
  set -o pipefail
  local s=$WORK/sweep
  mkdir -p "$s/models" && cp -r "$WORK/data" "$s/data"
  $L model init --layers 4 --hidden 128 --heads 4 --kv-heads 2 --intermediate 256 --vocab 512 --max-positions 256 \
     --tokenizer-text "$WORK/data/corpus.txt" --seed 1 --out "$s/models/base" > /dev/null || return 1
  cat > "$s/sweep.yaml" <<YAML
name: device-check
base_model: models/base
data: [data/train.jsonl]
eval: { tasks: [continuation], task_dir: data/tasks, limit: $EVAL_LIMIT }
grid: { remove: [1, 2], strategy: [input], heal_tokens: [$HEAL], heal_method: [pretrain], seed: [1] }
train: { seq_len: 128, batch_tokens: 1024, lr: 1.0e-3, warmup_steps: 2, min_lr_ratio: 0.1, checkpoint_every: 4 }
latency: { prompt_tokens: 16, new_tokens: 16 }
device: $DEV
max_attempts: 1
output: out
YAML
  local slots="--slots 1"; [[ $mode == gpu ]] && slots="--gpus 1"
  local t0=$(date +%s.%N)
  $L sweep run "$s/sweep.yaml" $slots --json > "$WORK/e-results.json" || return 1
  python3 - "$WORK" "$(echo "$(date +%s.%N) - $t0" | awk '{print $1 - $3}')" <<'PY'
import json, sys
work, seconds = sys.argv[1], float(sys.argv[2])
results = json.load(open(f"{work}/e-results.json"))
rows = results if isinstance(results, list) else results.get("candidates", results)
out = {"wall_seconds": seconds, "candidates": [
    {k: c.get(k) for k in ("id", "status", "params", "latency_ms_per_token", "average", "perplexity", "history")} for c in rows]}
json.dump(out, open(f"{work}/steps/e-sweep.json", "w"))
print(json.dumps({"wall_seconds": seconds, "statuses": [c["status"] for c in out["candidates"]]}))
PY
}
export -f sweep
step e-sweep 150 sweep e

summarize
echo "summary: $OUT/summary.json ($(( $(date +%s) - started )) s)"
python3 - "$OUT/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
bad = [n for n, e in s["steps"].items() if e.get("status") not in ("ok", "skipped")]
print("steps not ok: " + ", ".join(bad) if bad else "all steps ok or skipped")
sys.exit(1 if bad else 0)
PY
