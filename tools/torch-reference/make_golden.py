#!/usr/bin/env python3
"""Golden fixtures for the Swift MoETransformer, from an independent PyTorch implementation.

float64 throughout (weights are drawn, then rounded to fp32 so the Swift model holds exactly the
same values); gradients by autograd. Writes golden.h5 (h5py) and golden.bin + golden.json (raw
little-endian float64 and an index, read by Tests/XMoEModelTests/Golden/TorchGoldenTests.swift).
Usage: python3 make_golden.py OUTDIR
"""
import json, os, sys
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

PAPER = dict(layers=2, hidden=16, heads=2, ffnHidden=24, seqLength=8, vocabSize=50, paddedVocab=64,
             firstDenseLayers=0, norm="layernorm", activation="gelu", linearBias=True, tiedEmbeddings=True,
             numExperts=4, topK=2, expertFFNHidden=12, expertActivation="gelu", expertBias=True,
             numSharedExperts=0, sharedExpertFFNHidden=12)
DEEPSEEK = dict(layers=2, hidden=16, heads=2, ffnHidden=24, seqLength=8, vocabSize=50, paddedVocab=64,
                firstDenseLayers=1, norm="rmsnorm", activation="swiglu", linearBias=False, tiedEmbeddings=False,
                numExperts=8, topK=2, expertFFNHidden=8, expertActivation="swiglu", expertBias=False,
                numSharedExperts=1, sharedExpertFFNHidden=16)
OPTS = dict(gating="softmax_topk", capacityFactor=None, minCapacity=4, auxLossCoeff=0.1, zLossCoeff=0.01,
            ropeTheta=10000.0, normEps=1e-5)
CASES = [
    ("xmoe_paper", PAPER, dict(OPTS), 11),
    ("deepseek", DEEPSEEK, dict(OPTS, gating="softmax_topk_renorm"), 12),
    ("dropping", dict(PAPER, seqLength=12), dict(OPTS, capacityFactor=0.75, minCapacity=1), 13),
    ("topk_logits", dict(PAPER, hidden=24, heads=3, seqLength=12), dict(OPTS, gating="topk_logits"), 14),
]
BATCH = 2
f32 = lambda v: float(np.float32(v))  # Swift holds coefficients and eps as Float


def param_shapes(c):
    """(global name, Swift-layout shape, init kind) in the Swift registration order."""
    h, out = c["hidden"], []
    def linear(name, i, o, bias, kind="w"):
        out.append((f"{name}.w", (i, o), kind))
        if bias: out.append((f"{name}.b", (o,), "b"))
    def mlp(pre, f, act, bias):
        w = 2 * f if act == "swiglu" else f
        out.append((f"{pre}.w_in", (h, w), "w"))
        if bias: out.append((f"{pre}.b_in", (w,), "b"))
        out.append((f"{pre}.w_out", (f, h), "wo"))
        if bias: out.append((f"{pre}.b_out", (h,), "b"))
    def norm(pre):
        out.append((f"{pre}.weight", (h,), "n"))
        if c["norm"] == "layernorm": out.append((f"{pre}.bias", (h,), "b"))
    out.append(("embedding.weight", (c["paddedVocab"], h), "w"))
    for l in range(c["layers"]):
        p = f"layers.{l:02d}"
        norm(f"{p}.attn_norm")
        out.append((f"{p}.attn.w_qkv", (h, 3 * h), "w"))
        if c["linearBias"]: out.append((f"{p}.attn.b_qkv", (3 * h,), "b"))
        out.append((f"{p}.attn.w_o", (h, h), "wo"))
        if c["linearBias"]: out.append((f"{p}.attn.b_o", (h,), "b"))
        norm(f"{p}.ffn_norm")
        if l < c["firstDenseLayers"]:
            mlp(f"{p}.ffn", c["ffnHidden"], c["activation"], c["linearBias"])
        else:
            linear(f"{p}.moe.router", h, c["numExperts"], False, "r")
            for e in range(c["numExperts"]):
                mlp(f"{p}.moe.experts.{e:03d}", c["expertFFNHidden"], c["expertActivation"], c["expertBias"])
            for s in range(c["numSharedExperts"]):
                mlp(f"{p}.moe.shared.{s:02d}", c["sharedExpertFFNHidden"], c["expertActivation"], c["expertBias"])
    norm("final_norm")
    if not c["tiedEmbeddings"]: out.append(("lm_head.w", (h, c["paddedVocab"]), "w"))
    return out


def make_params(c, rng):
    std = {"w": 0.35, "wo": 0.35 / np.sqrt(2 * c["layers"]), "r": 0.5, "b": 0.1, "n": 0.1}
    ps = {}
    for name, shape, kind in param_shapes(c):
        v = rng.normal(0.0, std[kind], shape) + (1.0 if kind == "n" else 0.0)
        ps[name] = torch.tensor(v.astype(np.float32).astype(np.float64), requires_grad=True)
    return ps


def linear(x, p, w, b=None):
    y = x @ p[w]
    return y + p[b] if b in p else y


def norm(x, p, pre, c, eps):
    w = p[f"{pre}.weight"]
    if c["norm"] == "layernorm":
        return F.layer_norm(x, (x.shape[-1],), w, p[f"{pre}.bias"], eps)
    return F.rms_norm(x, (x.shape[-1],), w, eps)


def mlp(x, p, pre, act):
    pre_ = linear(x, p, f"{pre}.w_in", f"{pre}.b_in")
    if act == "swiglu":
        g, u = pre_.chunk(2, dim=-1)  # w_in holds [gate | up] side by side
        a = F.silu(g) * u
    else:
        a = F.gelu(pre_, approximate="tanh")
    return linear(a, p, f"{pre}.w_out", f"{pre}.b_out")


def rope(x, theta):  # x [B, N, S, D]; pairs (i, i + D/2), angle pos · theta^(-2i/D)
    s, d = x.shape[-2], x.shape[-1]
    inv = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    ang = torch.outer(torch.arange(s, dtype=torch.float64), inv)
    cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def attention(x, p, pre, c, o, b, s):
    n, h = c["heads"], c["hidden"]
    qkv = linear(x, p, f"{pre}.w_qkv", f"{pre}.b_qkv").view(b, s, 3, n, h // n).permute(2, 0, 3, 1, 4)
    q, k, v = rope(qkv[0], o["ropeTheta"]), rope(qkv[1], o["ropeTheta"]), qkv[2]
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # scale 1/sqrt(D)
    return linear(y.transpose(1, 2).reshape(b * s, h), p, f"{pre}.w_o", f"{pre}.b_o")


def moe(x, p, pre, c, o, info):
    t, e, k = x.shape[0], c["numExperts"], c["topK"]
    logits = x @ p[f"{pre}.router.w"]
    probs = logits.softmax(-1)
    sel = logits if o["gating"] == "topk_logits" else probs
    ranked = sel.detach().sort(-1, descending=True).values
    info["select_margin"] = min(info.get("select_margin", 1e9), float((ranked[:, k - 1] - ranked[:, k]).min()))
    idx = sel.detach().topk(k, -1).indices  # [T, K]
    chosen = probs.gather(1, idx)
    w = {"softmax_topk": chosen, "softmax_topk_renorm": chosen / chosen.sum(-1, keepdim=True),
         "topk_logits": logits.gather(1, idx)}[o["gating"]]
    routed = torch.bincount(idx.flatten(), minlength=e).double()
    aux = e / k * (probs.mean(0) * routed / t).sum()
    z = (torch.logsumexp(logits, -1) ** 2).mean()
    keep = np.ones((t, k), bool)
    if o["capacityFactor"] is not None:
        cap = max(o["minCapacity"], int(np.ceil(t * k * o["capacityFactor"] / e)))
        wd, ix = w.detach().numpy(), idx.numpy()
        for ex in range(e):
            slots = [(tok * k + j) for tok in range(t) for j in range(k) if ix[tok, j] == ex]
            if len(slots) <= cap: continue
            order = sorted(slots, key=lambda sl: (-wd.flat[sl], sl))
            gap = wd.flat[order[cap - 1]] - wd.flat[order[cap]]
            info["drop_margin"] = min(info.get("drop_margin", 1e9), float(gap))
            for sl in order[cap:]: keep.flat[sl] = False
        info["dropped"] = info.get("dropped", 0) + int((~keep).sum())
    y = torch.zeros_like(x)
    ix = idx.numpy()
    for ex in range(e):
        tok, j = np.nonzero((ix == ex) & keep)
        if len(tok) == 0: continue
        tok_t, j_t = torch.tensor(tok), torch.tensor(j)
        y = y.index_add(0, tok_t, mlp(x[tok_t], p, f"{pre}.experts.{ex:03d}", c["expertActivation"]) * w[tok_t, j_t, None])
    for s in range(c["numSharedExperts"]):
        y = y + mlp(x, p, f"{pre}.shared.{s:02d}", c["expertActivation"])
    return y, aux, z


def forward(p, c, o, tokens, targets, info):
    b, s = tokens.shape
    eps = f32(o["normEps"])
    x = p["embedding.weight"][torch.tensor(tokens).flatten().long()]
    auxes, zs = [], []
    for l in range(c["layers"]):
        pre = f"layers.{l:02d}"
        x = x + attention(norm(x, p, f"{pre}.attn_norm", c, eps), p, f"{pre}.attn", c, o, b, s)
        hN = norm(x, p, f"{pre}.ffn_norm", c, eps)
        if l < c["firstDenseLayers"]:
            x = x + mlp(hN, p, f"{pre}.ffn", c["activation"])
        else:
            y, aux, z = moe(hN, p, f"{pre}.moe", c, o, info)
            x, auxes, zs = x + y, auxes + [aux], zs + [z]
    x = norm(x, p, "final_norm", c, eps)
    logits = x @ (p["embedding.weight"].T if c["tiedEmbeddings"] else p["lm_head.w"])
    lm = F.cross_entropy(logits, torch.tensor(targets).flatten().long(), ignore_index=-1)
    aux, z = sum(auxes), sum(zs)
    total = lm + f32(o["auxLossCoeff"]) * aux + f32(o["zLossCoeff"]) * z
    return logits.view(b, s, -1), dict(lm=lm, aux=aux, z=z, total=total), auxes, zs


def main(outdir):
    import h5py
    os.makedirs(outdir, exist_ok=True)
    chunks, offset, index = [], 0, {"format": "xmoe torch golden v1: golden.bin is little-endian float64; "
                                   "offset/count in elements", "dtype": "float64", "cases": []}
    with h5py.File(os.path.join(outdir, "golden.h5"), "w") as h5:
        h5.attrs["generator"] = "tools/torch-reference/make_golden.py (PyTorch %s, float64, autograd)" % torch.__version__
        for name, c, o, seed in CASES:
            for seed in range(seed, seed + 100 * 1000, 1000):  # first seed whose routing is far from ties
                rng = np.random.default_rng(seed)
                p = make_params(c, rng)
                tokens = rng.integers(0, c["vocabSize"], (BATCH, c["seqLength"])).astype(np.int32)
                targets = rng.integers(0, c["vocabSize"], (BATCH, c["seqLength"])).astype(np.int32)
                targets[0, 3] = -1  # ignored position
                info = {"seed": seed}
                logits, losses, auxes, zs = forward(p, c, o, tokens, targets, info)
                if info["select_margin"] > 1e-3 and (o["capacityFactor"] is None
                                                     or (info["dropped"] > 0 and info["drop_margin"] > 1e-3)):
                    break
            else:
                raise RuntimeError(f"{name}: no seed gave routing margins above 1e-3: {info}")
            losses["total"].backward()
            losses = {k: v.item() for k, v in losses.items()}
            print(name, losses, info)
            g = h5.create_group(name)
            for k, v in list(c.items()) + [(k, v) for k, v in o.items() if v is not None]:
                g.attrs[k] = v
            g.attrs["batch"] = BATCH
            for k, v in info.items(): g.attrs[k] = v
            g["tokens"], g["targets"] = tokens, targets
            g["logits"] = logits.detach().numpy()
            for k, v in losses.items(): g[f"losses/{k}"] = v
            g["losses/aux_per_layer"] = np.array([a.item() for a in auxes])
            g["losses/z_per_layer"] = np.array([a.item() for a in zs])
            tensors = []
            for pname, shape, _ in param_shapes(c):
                val, grad = p[pname].detach().numpy(), p[pname].grad.numpy()
                g[f"params/{pname}"] = val.astype(np.float32)
                g[f"grads/{pname}"] = grad
                for role, arr in (("param", val), ("grad", grad)):
                    tensors.append(dict(name=pname, role=role, shape=list(shape), offset=offset, count=arr.size))
                    chunks.append(np.ascontiguousarray(arr, "<f8").tobytes())
                    offset += arr.size
            index["cases"].append(dict(name=name, config=c, options=o, batch=BATCH, tokens=tokens.flatten().tolist(),
                                       targets=targets.flatten().tolist(), info=info,
                                       losses=losses, tensors=tensors))
    with open(os.path.join(outdir, "golden.bin"), "wb") as f:
        f.write(b"".join(chunks))
    with open(os.path.join(outdir, "golden.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
