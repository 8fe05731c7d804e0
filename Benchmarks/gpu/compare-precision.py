"""Loss curves of the quickstart trained in bf16 on cuda against the fp32 CPU run (and the CPU's
bf16 emulation, and a second cuda run), from metrics.h5. Tolerances, stated before the run:
  cuda bf16 vs cpu fp32: every step within 3% relative, the mean within 1%, final eval within 1%;
  cuda bf16 vs cpu bf16-emulated: every step within 3%, mean within 1% (same numerics, different
  summation order and kernels, so routing decisions may still flip; compared over the steps it
  finished, and skipped when it did not run);
  two cuda runs: bit-identical.
Exit status 1 when one fails."""
import sys, h5py, numpy as np
def series(run, path):
    try:
        with h5py.File(run + "/metrics.h5", "r") as f:
            return np.array(f[path][()], dtype=np.float64) if path in f else None
    except OSError as e:
        print(f"{run}: {e}"); return None
cuda, cpu, emulated, cuda2 = sys.argv[1:5]
failed = False
def check(name, a, b, worst_tol, mean_tol, partial_ok=False):
    global failed
    if a is None or b is None or len(a) == 0 or len(b) == 0:
        print(f"{name}: missing" + (" (informative only: skipped)" if partial_ok else "")); failed |= not partial_ok; return
    n = min(len(a), len(b)); d = np.abs(a[:n] - b[:n]) / np.abs(b[:n])
    ok = d.max() <= worst_tol and d.mean() <= mean_tol and (partial_ok or len(a) == len(b))
    failed |= not ok
    print(f"{name}: {n} steps, worst relative {d.max():.3e} at step {int(np.argmax(d)) + 1} (≤ {worst_tol}), "
          f"mean {d.mean():.3e} (≤ {mean_tol}); first {a[0]:.5f}/{b[0]:.5f} last {a[n-1]:.5f}/{b[n-1]:.5f}: {'PASS' if ok else 'FAIL'}")
lg, lc, le, lg2 = (series(r, "/train/loss") for r in (cuda, cpu, emulated, cuda2))
check("cuda bf16 vs cpu fp32", lg, lc, 0.03, 0.01)
# The emulated run is slow on the CPU: a run cut short by its timeout is compared over its steps.
check("cuda bf16 vs cpu bf16-emulated", lg, le, 0.03, 0.01, partial_ok=True)
eg, ec = series(cuda, "/eval/loss"), series(cpu, "/eval/loss")
if eg is not None and ec is not None and len(eg) and len(ec):
    d = abs(eg[-1] - ec[-1]) / abs(ec[-1]); ok = d <= 0.01; failed |= not ok
    print(f"final eval: cuda {eg[-1]:.5f} cpu {ec[-1]:.5f} relative {d:.2e} (≤ 0.01): {'PASS' if ok else 'FAIL'}")
same = lg is not None and lg2 is not None and np.array_equal(lg, lg2)
failed |= not same
print(f"two cuda runs bit-identical: {same}")
sys.exit(1 if failed else 0)
