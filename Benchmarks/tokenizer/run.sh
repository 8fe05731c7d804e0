#!/usr/bin/env bash
# Tokenizer throughput, one thread: xmoe's GPT2Tokenizer (release build) vs Hugging Face `tokenizers`
# on the same corpus and vocab/merges, measured in one run. Checks that all three runs produced
# the same ids (token count and checksum), then prints MB/s (best pass and cold first pass) and
# the ratio xmoe / HF.
#
# Needs: python3 with `tokenizers` (pip install tokenizers), and in Package.swift
#   .executableTarget(name: "xmoe-bench-tokenizer", dependencies: ["XMoEData"], path: "Benchmarks/tokenizer/Swift"),
# Usage: Benchmarks/tokenizer/run.sh [CORPUS.jsonl.gz] [PASSES]
set -euo pipefail
cd "$(dirname "$0")/../.."
CORPUS_GZ="${1:-data/corpus/kjv.jsonl.gz}"
PASSES="${2:-5}"
PYTHON="${PYTHON:-python3}"

if ! grep -q '"xmoe-bench-tokenizer"' Package.swift; then
    echo "Package.swift has no xmoe-bench-tokenizer target; add the line shown at the top of $0" >&2
    exit 2
fi
swift build -c release --product xmoe-bench-tokenizer >&2
BIN="$(swift build -c release --show-bin-path)/xmoe-bench-tokenizer"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
gunzip -c "$CORPUS_GZ" > "$WORK/corpus.jsonl"

export RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
"$BIN" data/gpt2 "$WORK/corpus.jsonl" "$PASSES" > "$WORK/swift.json"
"$PYTHON" Benchmarks/tokenizer/hf_bench.py data/gpt2 "$WORK/corpus.jsonl" "$PASSES" loop > "$WORK/hf_loop.json"
"$PYTHON" Benchmarks/tokenizer/hf_bench.py data/gpt2 "$WORK/corpus.jsonl" "$PASSES" batch > "$WORK/hf_batch.json"

"$PYTHON" - "$WORK/swift.json" "$WORK/hf_loop.json" "$WORK/hf_batch.json" <<'PY'
import json, sys
runs = [json.load(open(p)) for p in sys.argv[1:]]
swift = runs[0]
for r in runs[1:]:
    if (r["tokens"], r["checksum"]) != (swift["tokens"], swift["checksum"]):
        sys.exit(f"ids differ: {swift['impl']} {swift['tokens']}/{swift['checksum']} vs {r['impl']} {r['tokens']}/{r['checksum']}")
mb = swift["bytes"] / 1e6
print(f"corpus: {swift['documents']} documents, {mb:.2f} MB, {swift['tokens']} tokens (identical ids in all runs)")
print(f"{'implementation':24} {'best MB/s':>10} {'cold MB/s':>10} {'load s':>8}")
for r in runs:
    print(f"{r['impl']:24} {mb / min(r['seconds']):10.2f} {mb / r['seconds'][0]:10.2f} {r['load_seconds']:8.3f}")
for r in runs[1:]:
    print(f"ratio xmoe / {r['impl']}: best {min(r['seconds']) / min(swift['seconds']):.2f}x, "
          f"cold {r['seconds'][0] / swift['seconds'][0]:.2f}x")
PY
