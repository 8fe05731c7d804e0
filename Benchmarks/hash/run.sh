#!/usr/bin/env bash
# SHA-256 throughput of swift-crypto (ContentDigest) vs XMoEBase's SHA256 vs coreutils sha256sum,
# on the bundled corpus and its prepared .bin (or the files given). Release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product xmoe-bench-hash >/dev/null
bin=$(swift build -c release --show-bin-path)/xmoe-bench-hash
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    files=(data/corpus/kjv.jsonl.gz)
    # The prepared .bin, if a run or prepare-data has made one under the default cache.
    prepared=$(ls runs/cache/prepare-data/*/data/kjv_text_document.bin 2>/dev/null | head -1 || true)
    [ -n "$prepared" ] && files+=("$prepared")
fi
"$bin" "${files[@]}" --passes 5
for f in "${files[@]}"; do
    start=$(date +%s.%N); sha256sum "$f" >/dev/null; end=$(date +%s.%N)
    python3 -c "import os,sys; s=os.path.getsize(sys.argv[1]); print('{\"file\": \"%s\", \"sha256sum_MBps\": %d}' % (sys.argv[1], s/1e6/max(float(sys.argv[3])-float(sys.argv[2]),1e-9)))" "$f" "$start" "$end"
done
