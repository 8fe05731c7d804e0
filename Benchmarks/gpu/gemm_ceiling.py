#!/usr/bin/env python3
"""The bf16 dense GEMM ceiling of this GPU (8192^3, cuBLAS through PyTorch): the denominator of MFU
in the step benchmark. CUDA events, median of 5 rounds of 20 products after a warm-up; random data
(zeros run faster). Prints `CEILING tflops=...`."""
import statistics

import torch

n = 8192
a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
for _ in range(10):
    a @ b
torch.cuda.synchronize()
rounds = []
for _ in range(5):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(20):
        a @ b
    end.record()
    end.synchronize()
    rounds.append(start.elapsed_time(end) / 1e3 / 20)
seconds = statistics.median(rounds)
print(f"bf16 GEMM 8192^3: {seconds * 1e3:.3f} ms ({', '.join(f'{2 * n**3 / r / 1e12:.0f}' for r in rounds)} TFLOP/s per round)")
print(f"CEILING tflops={2 * n**3 / seconds / 1e12:.1f}")
