#!/bin/bash
# c3 probe: cuBLASLt grouped exports, per-expert GEMMs over streams, torch._grouped_mm for fwd/dgrad/wgrad.
set -u
export NCCL_NVLS_ENABLE=0 PYTHONUNBUFFERED=1
echo "== exports"
for l in libcublasLt.so.13 libcublas.so.13; do p=$(ldconfig -p | awk -v l=$l '$1==l{print $NF; exit}'); echo "$l -> $p"; nm -D --defined-only "$p" | grep -i group | awk '{print $3}' | tr '\n' ' '; echo; done
for h in /usr/local/cuda/include/cublasLt.h /usr/local/cuda/targets/x86_64-linux/include/cublasLt.h; do [ -f $h ] && { echo "$h:"; grep -n -i "group" $h | head -40; break; }; done
nvcc --version | tail -2
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
echo "== torch"
timeout 150 python3 - <<'PY'
import torch
torch.manual_seed(0)
E, T, H, F = 64, 8192*6, 2048, 1408
def ms(f, n=20):
    for _ in range(3): f()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    t = []
    for _ in range(5):
        s.record()
        for _ in range(n): f()
        e.record(); torch.cuda.synchronize(); t.append(s.elapsed_time(e) / n)
    return sorted(t)[2]
flop = 2*T*H*F
equal = [T//E]*E
uneven = [T//E + (e*37) % 257 - 128 for e in range(E)]; uneven[-1] += T - sum(uneven)
x = torch.randn(T, H, device="cuda").bfloat16(); w = torch.randn(E, H, F, device="cuda").bfloat16()
dC = torch.randn(T, F, device="cuda").bfloat16(); y = torch.empty(T, F, device="cuda", dtype=torch.bfloat16)
dx = torch.empty(T, H, device="cuda", dtype=torch.bfloat16); dW = torch.empty(E, H, F, device="cuda", dtype=torch.bfloat16)
for name, counts in [("equal", equal), ("uneven", uneven)]:
    offs = torch.tensor(counts, device="cuda", dtype=torch.int32).cumsum(0, dtype=torch.int32)
    st = [0]
    for c in counts: st.append(st[-1]+c)
    r = []
    t = ms(lambda: torch._grouped_mm(x, w, offs=offs)); r.append(f"fwd {t:.3f} ms {flop/t/1e9:.0f}")
    wt = w.transpose(-2, -1)
    try:
        t = ms(lambda: torch._grouped_mm(dC, wt, offs=offs)); r.append(f"dgrad(dC·Wᵀ, grouped_mm on transposed view) {t:.3f} ms {flop/t/1e9:.0f}")
    except Exception as err: r.append(f"dgrad grouped_mm: {err}")
    try:
        xt = x.t()
        t = ms(lambda: torch._grouped_mm(xt, dC, offs=offs)); r.append(f"wgrad(xᵀ·dC, grouped_mm k-grouped) {t:.3f} ms {flop/t/1e9:.0f}")
    except Exception as err: r.append(f"wgrad grouped_mm: {str(err)[:200]}")
    print(f"torch._grouped_mm {name}: " + "; ".join(r) + "  (TFLOP/s)")
    for S in [1, 2, 4, 8]:
        streams = [torch.cuda.Stream() for _ in range(S)]
        def loop(kind):
            main = torch.cuda.current_stream(); ev = main.record_event()
            for s in streams: s.wait_event(ev)
            for g in range(E):
                a, b = st[g], st[g+1]
                if a == b: continue
                with torch.cuda.stream(streams[g % S]):
                    if kind == 0: torch.mm(x[a:b], w[g], out=y[a:b])
                    elif kind == 1: torch.mm(dC[a:b], w[g].t(), out=dx[a:b])
                    else: torch.mm(x[a:b].t(), dC[a:b], out=dW[g])
            for s in streams: main.wait_stream(s)
        r = []
        for kind, kn in [(0, "fwd"), (1, "dgrad"), (2, "wgrad")]:
            loop(kind); torch.cuda.synchronize()
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g): loop(kind)
            t = ms(lambda: g.replay()); r.append(f"{kn} {t:.3f} ms {flop/t/1e9:.0f}")
        print(f"per-expert torch.mm (cuBLAS/Lt) in a CUDA graph, {name}, {S} streams: " + "; ".join(r))
PY
