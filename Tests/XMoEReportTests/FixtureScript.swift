/// write_fixture_run.py, written to the test's temporary directory and run with /usr/bin/python3.
/// Embedded here because the test target's manifest entry declares no resources or exclusions.
enum FixtureScript {
    static let source = #"""
"""Writes a run's metrics.h5 the way XMoETrain's MetricsWriter lays it out, with h5py (an independent
writer), and expected.json with every RunSummary number computed here in float64 from the same data.

usage: write_fixture_run.py RUN_DIR TOKENS_PER_STEP [--hold]
  --hold: keep metrics.h5 open for writing, print "holding" and wait for stdin to close (a live run).
Run by the XMoEReport tests with /usr/bin/python3 (Debian's python3-h5py). Kept as a Swift string
(FixtureScript.swift) so the test target has no non-Swift file for the manifest to exclude.
"""
import json
import math
import random
import statistics
import sys

import h5py
import numpy as np

TRAIN = [("step", "steps"), ("loss", "nats/token"), ("lm_loss", "nats/token"), ("aux_loss", "1"), ("lr", "1"),
         ("grad_norm", "1"), ("tokens_per_s", "tokens/s"), ("flops_per_s", "FLOP/s"), ("skipped", "1")]
STEPS = 47
EXPERTS = 4
MOE_LAYERS = [1, 3]
EVAL_STEPS = [10, 20, 30, 40, 47]


def series(f, path, data, units):
    data = np.asarray(data)
    maxshape = (None,) + data.shape[1:]
    chunks = (256,) + data.shape[1:]
    d = f.create_dataset(path, data=data, maxshape=maxshape, chunks=chunks)
    d.attrs["units"] = units
    d.attrs["description"] = "fixture"


def main():
    run, tokens_per_step = sys.argv[1], int(sys.argv[2])
    hold = "--hold" in sys.argv
    rng = random.Random(7)
    cols = {name: [] for name, _ in TRAIN}
    for s in range(1, STEPS + 1):
        skipped = s == 46
        loss = float("nan") if skipped else 6.0 * math.exp(-s / 20) + 2 + rng.uniform(-0.05, 0.05)
        rate = 5000.0 if s == 1 else 20000 + rng.uniform(-500, 500)
        for name, value in [("step", s), ("loss", loss), ("lm_loss", loss), ("aux_loss", rng.uniform(0, .1)),
                            ("lr", 1e-3), ("grad_norm", rng.uniform(0.5, 2)), ("tokens_per_s", rate),
                            ("flops_per_s", rate * 1e6), ("skipped", 1.0 if skipped else 0.0)]:
            cols[name].append(float(value))
    evals = [(s, 5.0 - 0.05 * s + (0.9 if s == 47 else 0.0)) for s in EVAL_STEPS]
    counts = {l: [[rng.randint(0, 40) for _ in range(EXPERTS)] for _ in range(STEPS)] for l in MOE_LAYERS}
    counts[3][STEPS - 1] = [0] * EXPERTS  # a step that routed nothing: left out of the imbalance
    dropped = {l: [rng.uniform(0, 0.2) for _ in range(STEPS)] for l in MOE_LAYERS}

    f = h5py.File(f"{run}/metrics.h5", "w")
    for name, units in TRAIN:
        series(f, f"/train/{name}", np.array(cols[name], dtype="f8"), units)
    series(f, "/eval/step", np.array([s for s, _ in evals], dtype="f8"), "steps")
    series(f, "/eval/loss", np.array([l for _, l in evals], dtype="f8"), "nats/token")
    series(f, "/eval/perplexity", np.exp(np.array([l for _, l in evals], dtype="f8")), "1")
    for l in MOE_LAYERS:
        series(f, f"/moe/layer_{l:02d}/tokens_per_expert", np.array(counts[l], dtype="i8"), "slots")
        series(f, f"/moe/layer_{l:02d}/dropped_fraction", np.array(dropped[l], dtype="f8"), "1")
    f.flush()

    # Expected values, straight from the definitions in RunSummary's documentation.
    window = max(1, STEPS // 20)
    tail = [x for x in cols["loss"][-window:] if math.isfinite(x)]
    imbalances = []
    for l in MOE_LAYERS:
        rows = counts[l][-max(1, STEPS // 10):]
        ratios = [max(r) / (sum(r) / len(r)) for r in rows if sum(r) > 0]
        imbalances.append(sum(ratios) / len(ratios))
    best = min(evals, key=lambda e: e[1])
    expected = {
        "rows": STEPS, "steps_done": STEPS, "tokens_seen": STEPS * tokens_per_step, "skipped_steps": 1,
        "final_train_loss": sum(tail) / len(tail), "final_train_loss_window": window,
        "final_eval_loss": evals[-1][1], "final_eval_step": evals[-1][0],
        "best_eval_loss": best[1], "best_eval_step": best[0],
        "tokens_per_s": statistics.median(cols["tokens_per_s"][1:]),
        "mean_dropped_fraction": float(np.mean([d for l in MOE_LAYERS for d in dropped[l]])),
        "load_imbalance": sum(imbalances) / len(imbalances),
        "moe_layers": MOE_LAYERS, "experts": EXPERTS,
        "layer3_last_counts": counts[3][-1], "layer1_first_counts": counts[1][0],
        "train_loss_sum_finite": sum(x for x in cols["loss"] if math.isfinite(x)),
    }
    # Floats as repr text: Swift parses that exactly (JSONSerialization may round the last digit).
    expected = {k: repr(v) if isinstance(v, float) else v for k, v in expected.items()}
    with open(f"{run}/expected.json", "w") as out:
        json.dump(expected, out)
    if hold:
        print("holding", flush=True)
        sys.stdin.read()
    f.close()


main()
"""#
}
