"""Loss curves of the quickstart: cpu, cuda, and cuda→cpu (continued at step 100), from metrics.h5."""
import sys, h5py, numpy as np
def series(run, path):
    with h5py.File(run + "/metrics.h5", "r") as f:
        return np.array(f[path][()], dtype=np.float64) if path in f else None
cpu, gpu, mixed = sys.argv[1:4]
lc, lg, lm = (series(r, "/train/loss") for r in (cpu, gpu, mixed))
print(f"steps: cpu {len(lc)}, cuda {len(lg)}, cuda→cpu {len(lm)}")
def rel(a, b):
    n = min(len(a), len(b)); d = np.abs(a[:n] - b[:n]) / np.abs(b[:n]); return d, int(np.argmax(d)) + 1
d, at = rel(lg, lc)
print(f"cuda vs cpu: worst relative loss difference {d.max():.3e} at step {at}; mean {d.mean():.3e}; "
      f"first {lc[0]:.6f}/{lg[0]:.6f}, last {lc[-1]:.6f}/{lg[-1]:.6f}")
for k in (1, 10, 50, 100, 150):
    if k <= len(d): print(f"  step {k}: cpu {lc[k-1]:.6f} cuda {lg[k-1]:.6f} rel {d[k-1]:.2e}")
d2, at2 = rel(lm, lc)
print(f"cuda→cpu vs cpu: worst {d2.max():.3e} at step {at2}; last {lm[-1]:.6f} vs {lc[-1]:.6f} (rel {d2[-1]:.2e})")
same = np.array_equal(lm[:100], lg[:100])
print(f"cuda→cpu steps 1-100 bit-identical to the plain cuda run: {same}")
for name, r in (("cpu", cpu), ("cuda", gpu), ("cuda→cpu", mixed)):
    e = series(r, "/eval/loss")
    if e is not None: print(f"eval loss {name}: {' '.join(f'{x:.5f}' for x in e)}")
for name, r in (("cpu", cpu), ("cuda", gpu)):
    g = series(r, "/train/grad_norm")
    if g is not None: print(f"grad norm {name}: first {g[0]:.6f} last {g[-1]:.6f}")
