#!/usr/bin/env python3
"""Reads the /comm/* and /moe/* series of dispatch benchmark runs and prints the bytes the pft and
padded dispatchers moved, beside what PFT should move (exactly the kept rows) and what the padded
baseline should move (E x capacity rows per rank and layer), and their ratio.

usage: bytes.py RUNS_DIR HIDDEN WORLD   (RUNS_DIR holds bench-{pft,padded}-{dropless,dropping})
"""
import os
import sys

import h5py

runs, hidden, world = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ROW = hidden * 4  # one fp32 row of H values


def load(name):
    f = h5py.File(os.path.join(runs, name, "metrics.h5"), "r")
    comm = {k: f["comm"][k][()] for k in f["comm"]}
    layers = sorted(k for k in f["moe"])
    routed = sum(f["moe"][l]["tokens_per_expert"][()].sum(axis=1) for l in layers)
    kept = sum(
        f["moe"][l]["tokens_per_expert"][()].sum(axis=1) * (1 - f["moe"][l]["dropped_fraction"][()]) for l in layers
    )
    experts = f["moe"][layers[0]]["tokens_per_expert"].shape[1]
    return comm, routed, kept.round().astype(int), len(layers), experts


def payload(comm, phase):
    return comm[phase + "_intra_node_bytes"] + comm[phase + "_inter_node_bytes"] + comm[phase + "_local_bytes"]


print(f"H = {hidden}, {world} ranks (ep = {world}); bytes per training step, all ranks, forward dispatch + its backward")
print("(each is one all-to-all of the same rows, so forward alone is half)\n")
for mode in ["dropless", "dropping"]:
    pft, _, kept, layers, experts = load(f"bench-pft-{mode}")
    pad, _, _, _, _ = load(f"bench-padded-{mode}")
    for step in range(len(kept)):
        p = int(payload(pft, "dispatch")[step])
        d = int(payload(pad, "dispatch")[step])
        expected = 2 * int(kept[step]) * ROW
        # padded: every rank sends E x capacity rows per layer, forward and backward
        capacity = d / (2 * world * layers * experts * ROW)
        sent_p = int(pft["dispatch_intra_node_bytes"][step] + pft["dispatch_inter_node_bytes"][step])
        sent_d = int(pad["dispatch_intra_node_bytes"][step] + pad["dispatch_inter_node_bytes"][step])
        print(f"{mode:8s} step {step + 1}: pft {p:>10,d} B = 2 x {kept[step]} kept rows x {ROW} B "
              f"({'exact' if p == expected else 'MISMATCH: expected %d' % expected})")
        print(f"{'':8s}         padded {d:>10,d} B = 2 x {world} ranks x {layers} layer(s) x E {experts} x capacity "
              f"{capacity:g} x {ROW} B")
        print(f"{'':8s}         padded / pft = {d / p:.2f}; sent to other ranks (self block excluded): "
              f"pft {sent_p:,d} B, padded {sent_d:,d} B ({sent_d / max(sent_p, 1):.2f}x)")
