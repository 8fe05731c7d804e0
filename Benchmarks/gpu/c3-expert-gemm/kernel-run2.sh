#!/bin/bash
set -u
cd .gpu-carry/c3
for bn in 128 176 256; do
  timeout 150 nvcc -O2 -std=c++17 -gencode arch=compute_90a,code=sm_90a -DXT_ONLY=$bn -o /tmp/xt$bn harness2.cu -lcuda 2>&1 | grep -v "^$" | head -20 &
done; wait
for bn in 176 256 128; do echo "== BN $bn"; timeout 60 /tmp/xt$bn 2>&1 | tail -22; done
