#!/bin/bash
# helper c2: flash attention. One device call: op checks of flash (and the old) attention against the
# CPU backend, a compute-sanitizer pass over the flash cases, the training check (the model now runs
# flash attention), timings at the X-MoE Small shape, and PyTorch SDPA (bf16, causal) for scale.
set -u
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
export XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
gunzip -c .gpu-carry/c2/xmoe-gpu-check.gz > /tmp/xmoe-gpu-check && chmod +x /tmp/xmoe-gpu-check
BIN=/tmp/xmoe-gpu-check
echo "== machine"; nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
echo "== flash + old attention op checks, flash benchmark (first start: NVRTC compiles)"
timeout 150 "$BIN" --seed 2201 --only attention --flash-benchmark 2>&1 | tee "$OUT/c2-gpu-check.log"; echo "exit: ${PIPESTATUS[0]}"
echo "== training check (model with flash attention; dropout 0.1 keeps the materialised path) + all op checks"
timeout 120 "$BIN" --seed 2202 2>&1 | grep -vE '^ok ' | tee "$OUT/c2-training.log"; echo "exit: ${PIPESTATUS[0]}"
echo "== compute-sanitizer memcheck, flash cases up to seq 130"
timeout 60 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" --no-training --seed 1 --only "flash attention fwd+bwd b2 s130" > "$OUT/c2-memcheck.log" 2>&1; echo "exit: $?"
grep -E 'ERROR SUMMARY|gpu-check:|Invalid' "$OUT/c2-memcheck.log" | head -10
echo "== PyTorch scaled_dot_product_attention, bf16, causal, B4 S2048 N16 D128"
timeout 60 python3 - <<'PY' 2>&1 | tee "$OUT/c2-torch.log"
import torch, torch.nn.functional as F
def ms(f, n=10):
    f(); torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    t = []
    for _ in range(5):
        s.record()
        for _ in range(n): f()
        e.record(); torch.cuda.synchronize(); t.append(s.elapsed_time(e) / n)
    return sorted(t)[2]
B, N, S, D = 4, 16, 2048, 128
fwd_flops = 2 * 2 * B * N * S * S * D / 2
for dtype in (torch.bfloat16, torch.float32):
    q, k, v = (torch.randn(B, N, S, D, device="cuda", dtype=dtype, requires_grad=True) for _ in range(3))
    do = torch.randn(B, N, S, D, device="cuda", dtype=dtype)
    f = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)
    tf = ms(f)
    o = f()
    tb = ms(lambda: torch.autograd.grad(o, (q, k, v), do, retain_graph=True))
    print(f"torch SDPA {dtype} causal: fwd {tf:.3f} ms {fwd_flops/tf/1e9:.1f} TFLOP/s, bwd {tb:.3f} ms {2.5*fwd_flops/tb/1e9:.1f} TFLOP/s, fwd+bwd {tf+tb:.3f} ms {3.5*fwd_flops/(tf+tb)/1e9:.1f} TFLOP/s")
PY
