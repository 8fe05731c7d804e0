#!/usr/bin/env bash
# prepare-data wall time: xmoe's engine (release build) vs the megatron-core preprocess_data.py
# pipeline (megatron_reference.py), same gzip input, same worker count, measured in one run.
# Checks that both wrote byte-identical .bin/.idx (cmp), then prints both times and the ratio.
#
# Needs: python3 with numpy and tokenizers; the megatron-core 0.19.2 wheel unpacked
# (see megatron_reference.py; pass its directory as MEGATRON_DIR), and in Package.swift
#   .executableTarget(name: "xmoe-bench-prepare-data", dependencies: ["XMoEData"], path: "Benchmarks/prepare-data/Swift"),
# Usage: MEGATRON_DIR=DIR Benchmarks/prepare-data/run.sh [WORKERS] [COPIES] [CORPUS.jsonl.gz]
#   COPIES: how many times the corpus is concatenated (a multi-member gzip) to lengthen the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORKERS="${1:-2}"
COPIES="${2:-4}"
CORPUS_GZ="${3:-data/corpus/kjv.jsonl.gz}"
PYTHON="${PYTHON:-python3}"
: "${MEGATRON_DIR:?set MEGATRON_DIR to the unpacked megatron-core 0.19.2 wheel}"

if ! grep -q '"xmoe-bench-prepare-data"' Package.swift; then
    echo "Package.swift has no xmoe-bench-prepare-data target; add the line shown at the top of $0" >&2
    exit 2
fi
swift build -c release --product xmoe-bench-prepare-data >&2
BIN="$(swift build -c release --show-bin-path)/xmoe-bench-prepare-data"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
for _ in $(seq "$COPIES"); do cat "$CORPUS_GZ"; done > "$WORK/input.jsonl.gz"

"$BIN" data/gpt2 "$WORK/input.jsonl.gz" "$WORK/swift" "$WORKERS" --append-eod > "$WORK/swift.json"
"$PYTHON" Benchmarks/prepare-data/megatron_reference.py --input "$WORK/input.jsonl.gz" \
    --output-prefix "$WORK/megatron" --workers "$WORKERS" --append-eod \
    --vocab-dir data/gpt2 --megatron-dir "$MEGATRON_DIR" > "$WORK/megatron.json"

cmp "$WORK/swift_text_document.bin" "$WORK/megatron_text_document.bin"
cmp "$WORK/swift_text_document.idx" "$WORK/megatron_text_document.idx"

"$PYTHON" - "$WORK/swift.json" "$WORK/megatron.json" "$(stat -c %s "$WORK/input.jsonl.gz")" \
    "$(gzip -dc "$WORK/input.jsonl.gz" | wc -c)" "$WORKERS" <<'PY'
import json, sys
swift, megatron = (json.load(open(p)) for p in sys.argv[1:3])
gz, raw, workers = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"input: {swift['documents']} documents, {raw / 1e6:.1f} MB ({gz / 1e6:.1f} MB gzip), "
      f"{swift['tokens']} tokens, {workers} workers; .bin/.idx byte-identical")
for name, r in (("xmoe", swift), ("megatron-core reference", megatron)):
    print(f"{name:26} {r['seconds']:8.2f} s {raw / 1e6 / r['seconds']:8.2f} MB/s")
print(f"ratio megatron / xmoe: {megatron['seconds'] / swift['seconds']:.1f}x")
PY
