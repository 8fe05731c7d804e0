# helper fa (session 6): times variants of the tensor-core flash kernels (tile sizes, warps per block)
# at B4 S2048 N16 D128 on the device, from cubins compiled beforehand with NVRTC for sm_90 (the source of
# FlashAttentionTensorCoreKernels with other constants; each variant's .json holds them). Checks variant A
# against an fp32 reference of one head, every variant against A, and that two runs are bit-identical.
# usage: python3 fa-sweep.py DIR_WITH_CUBINS
import cupy as cp, numpy as np, json, glob, os, sys
B, S, N, D = 4, 2048, 16, 128
BN, T, h = B * N, B * S, N * D
scale = 1 / np.sqrt(D)
rng = cp.random.default_rng(2606)

def bf16_bits(x):  # fp32 -> bf16 bits, round to nearest even
    u = cp.ascontiguousarray(x).view(cp.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(cp.uint16)

def bf16_value(bits):
    return (bits.astype(cp.uint32) << 16).view(cp.float32)

qkvb = bf16_bits(rng.standard_normal((3, BN, S, D), dtype=cp.float32))
dob = bf16_bits(rng.standard_normal((BN, S, D), dtype=cp.float32))

def launch(mod, vals, name, pass_, args):
    f = mod.get_function(name)
    thr = {"fwd": vals["forwardThreads"], "dq": vals["dqThreads"], "dkdv": vals["dkdvThreads"]}[pass_]
    tile = {"fwd": vals["forwardRows"], "dq": vals["dqRows"], "dkdv": vals["dkdvKeys"]}[pass_]
    st = (D + 8) * 2
    sh = {"fwd": 4 * vals["keyTile"] * st, "dq": 4 * vals["dqKeyTile"] * st,
          "dkdv": 2 * vals["dkdvKeys"] * st + 4 * vals["dkdvQueries"] * st + 16 * vals["dkdvQueries"]}[pass_]
    try:
        f.max_dynamic_shared_size_bytes = sh
    except Exception:
        cp.cuda.driver.funcSetAttribute(f.ptr, 8, sh)
    # Grids (b·N, tiles) since call 2 (gridHeadsX); call 1's kernels took (tiles, b·N).
    grid = (BN, (S + tile - 1) // tile, 1) if vals.get("gridHeadsX") else ((S + tile - 1) // tile, BN, 1)
    return lambda: f(grid, (thr, 1, 1), args, shared_mem=sh)

def timeit(fn, reps=20):
    fn(); cp.cuda.Device().synchronize()
    res = []
    for _ in range(3):
        a, b = cp.cuda.Event(), cp.cuda.Event()
        a.record()
        for _ in range(reps): fn()
        b.record(); b.synchronize()
        res.append(cp.cuda.get_elapsed_time(a, b) / reps)
    return sorted(res)[1]

def run_variant(path, lse_in=None, delta_in=None):
    vals = json.load(open(path[:-6] + ".json"))
    mod = cp.RawModule(path=path)
    out = cp.zeros((T, h), cp.float32); lse = cp.zeros((BN, S), cp.float32)
    fwd = launch(mod, vals, "xmoe_fatc_fwd_d128", "fwd", (qkvb, out, lse, cp.int64(S), cp.int32(N), cp.float32(scale)))
    fwd(); cp.cuda.Device().synchronize()
    out1, lse1 = out.copy(), lse.copy()
    fwd(); cp.cuda.Device().synchronize()
    same = bool((out == out1).all() and (lse == lse1).all())
    if lse_in is None:
        do4 = bf16_value(dob).reshape(B, N, S, D).transpose(0, 2, 1, 3).reshape(T, h)
        delta_in = (do4 * out).reshape(B, S, N, D).sum(-1).transpose(0, 2, 1).reshape(BN, S).copy()
        lse_in = lse.copy()
    dqkv = cp.zeros((T, 3 * h), cp.float32)
    common = (qkvb, dob, lse_in, delta_in, dqkv, cp.int64(S), cp.int32(N), cp.float32(scale))
    dq = launch(mod, vals, "xmoe_fatc_dq_d128", "dq", common)
    kv = launch(mod, vals, "xmoe_fatc_dkdv_d128", "dkdv", common)
    dq(); kv(); cp.cuda.Device().synchronize(); g1 = dqkv.copy()
    dqkv.fill(0); dq(); kv(); cp.cuda.Device().synchronize()
    same = same and bool((dqkv == g1).all())
    times = (timeit(fwd), timeit(dq), timeit(kv))
    return vals, out1, lse1, g1, same, times, lse_in, delta_in

def reference():  # fp32 attention of head bn = 0 from the bf16 inputs
    q, k, v = (bf16_value(qkvb[i, 0]) for i in range(3))
    do = bf16_value(dob[0])
    sc = (q @ k.T) * scale
    sc = cp.where(cp.tril(cp.ones((S, S), bool)), sc, -cp.inf)
    m = sc.max(1, keepdims=True); p = cp.exp(sc - m); l = p.sum(1, keepdims=True); p /= l
    o = p @ v; lse = (m + cp.log(l))[:, 0]
    delta = (do * o).sum(1)
    dp = do @ v.T; ds = p * (dp - delta[:, None]) * scale
    return o, lse, ds @ k, ds.T @ q, p.T @ do

def rel(a, b): return float(cp.linalg.norm(a - b) / cp.linalg.norm(b))

files = sorted(glob.glob(os.path.join(sys.argv[1], "*.cubin")))
base = None
print("variant | fwd ms | dq ms | dkdv ms | sum | rel. L2 vs A: out lse dqkv | bit-identical reruns")
for path in files:
    name = os.path.basename(path)[:-6]
    try:
        vals, out, lse, g, same, t, lse_in, delta_in = run_variant(path, *(base[3:5] if base else (None, None)))
    except Exception as e:
        print(name, "FAILED", repr(e)[:300], flush=True); continue
    if base is None:
        o, l, dq, dk, dv = reference()
        print("A vs fp32 reference, head 0: out %.2e lse %.2e dq %.2e dk %.2e dv %.2e" % (
            rel(out[:S, :D], o), rel(lse[0], l), rel(g[:S, :D], dq), rel(g[:S, h:h + D], dk), rel(g[:S, 2 * h:2 * h + D], dv)))
        base = (out, lse, g, lse_in, delta_in)
    cmp = (rel(out, base[0]), rel(lse, base[1]), rel(g, base[2]))
    shown = {k: v for k, v in vals.items() if k not in ("forwardRows", "dqRows", "dkdvKeys", "forwardThreads", "dqThreads") or v != 128}
    print("%s %s | %.3f | %.3f | %.3f | %.3f | %.1e %.1e %.1e | %s" % (name, json.dumps(shown), t[0], t[1], t[2], sum(t), *cmp, same), flush=True)
