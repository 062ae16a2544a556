#!/usr/bin/env bash
# Healing benchmarks on CPU: training tokens/s for two model sizes, checkpoint write/restore, and the peak
# memory of streaming a corpus much larger than a batch. Figures go to bench/RESULTS.md.
# Needs: dotnet build -c Release, and tests/.data/brown (deploy/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
L="dotnet src/Client/bin/Release/net10.0/layerchop.dll"
B="dotnet bench/Engine.Bench/bin/Release/net10.0/layerchop-bench.dll"
work="${BENCH_WORK:-/tmp/layerchop-bench-train}"
rm -rf "$work" && mkdir -p "$work"

# The Brown Corpus as JSONL (tags stripped), and a 10x copy for the streaming measurement.
python3 - "$work" <<'PY'
import json, os, re, sys
work = sys.argv[1]; brown = "tests/.data/brown"
docs = []
for name in sorted(os.listdir(brown)):
    if re.fullmatch(r"c[a-r]\d\d", name):
        words = [t.rsplit("/", 1)[0] for t in open(os.path.join(brown, name)).read().split()]
        docs.append(json.dumps({"text": " ".join(words)}))
open(os.path.join(work, "brown.jsonl"), "w").write("\n".join(docs) + "\n")
with open(os.path.join(work, "brown-x10.jsonl"), "w") as f:
    for i in range(10):
        for d in docs: f.write(d[:-1] + ', "copy": %d}\n' % i)
PY
head -c 2000000 "$work/brown.jsonl" > "$work/tokenizer-text.txt"
ls -la "$work"/*.jsonl

for shape in "4 128 4 4 344 2048" "8 384 6 2 1024 8192"; do
  read -r l h a k i v <<<"$shape"
  $L model init --layers $l --hidden $h --heads $a --kv-heads $k --intermediate $i --vocab $v --max-positions 512 \
     --tokenizer-text "$work/tokenizer-text.txt" --seed 1 --out "$work/m-$h" >/dev/null
  $L model inspect "$work/m-$h" --json | tr -d '\n '; echo
  $L train "$work/m-$h" --data "$work/brown.jsonl" --tokens $((2048 * 2)) --seq-len 256 --batch-tokens 2048 --out "$work/warm-$h" --json >/dev/null  # tokenizes and caches the corpus
  $L train "$work/m-$h" --data "$work/brown.jsonl" --tokens $((2048 * 12)) --seq-len 256 --batch-tokens 2048 --out "$work/run-$h" --json | tail -2
  $B checkpoint $l $h $a $k $i $v
done

# Streaming: a corpus of ~60 MB, a first run that builds its token cache, peak RSS measured.
/usr/bin/time -f "stream: wall %e s, peak RSS %M KB" $L train "$work/m-128" --data "$work/brown-x10.jsonl" \
   --tokens $((2048 * 8)) --seq-len 256 --batch-tokens 2048 --out "$work/stream" --json 2>&1 | tail -2
du -sh ~/.cache/layerchop/corpora 2>/dev/null || true
