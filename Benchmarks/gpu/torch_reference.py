#!/usr/bin/env python3
"""A fair PyTorch reference for xmoe's GPU step benchmark (Benchmarks/gpu/README.md).

The X-MoE Small layer (hidden 2048, 16 heads, 64 GELU experts of width 1408 with biases, top-6,
softmax -> top-k, LayerNorm, RoPE, tied embeddings, vocabulary 50304; xmoe-internals.md section 1),
L layers, one training step = forward, backward, fused AdamW, on one GPU:

- bf16 autocast with fp32 master weights; the router and the loss stay fp32;
- expert GEMMs through torch._grouped_mm with bf16 inputs cast explicitly (under autocast they
  would silently stay fp32 and run about 3x slower);
- attention through scaled_dot_product_attention (flash attention, causal);
- a padding-free permutation: slots sorted by expert (dropped slots last), one grouped GEMM over
  the kept rows (offs), unpermuted by an index copy and a sum over k (no atomics);
- dropless, or capacity factor c (capacity = max(4, ceil(T*k*c/E)); drops by descending weight
  per expert, as X-MoE does). Both use one graph: the capacity is a buffer (dropless = T*k);
- eager and torch.compile; timing with CUDA events after warm-up (median of the timed steps);
  peak memory from torch.cuda.max_memory_allocated over the timed steps.

FLOPs per step by the X-MoE fork's formula (xmoe-internals.md section 10):
  6 * (B*L*4*h^2*s + B*L*2*h*s^2 + B*L*2*f*h*s*k + B*V*h*s).

Prints one line per variant:
  RESULT name=torch_eager_dropless ms_per_step=.. tokens_per_s=.. tflops=.. mfu=..% peak_gib=.. reserved_gib=..
--cpu runs a tiny model on the CPU (fp32, no grouped GEMM kernel) to check the script itself.
"""
import argparse
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def xmoe_flops(b, s, layers, h, f, k, v):
    return 6 * (b * layers * 4 * h * h * s + b * layers * 2 * h * s * s + b * layers * 2 * f * h * s * k + b * v * h * s)


def rope_tables(seq, dim, theta, device):
    inv = 1.0 / theta ** (torch.arange(0, dim, 2, device=device, dtype=torch.float32) / dim)
    angles = torch.outer(torch.arange(seq, device=device, dtype=torch.float32), inv)  # [S, D/2]
    angles = torch.cat([angles, angles], dim=-1)  # rotate-half pairs (i, i + D/2)
    return angles.cos(), angles.sin()


def apply_rope(x, cos, sin):  # x [B, N, S, D]
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return (x * cos + rotated * sin).to(x.dtype)


class Attention(nn.Module):
    def __init__(self, h, heads, std, out_std):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(h, 3 * h)
        self.proj = nn.Linear(h, h)
        for lin, sd in ((self.qkv, std), (self.proj, out_std)):
            nn.init.normal_(lin.weight, std=sd)
            nn.init.zeros_(lin.bias)

    def forward(self, x, cos, sin):  # x [B, S, H]
        b, s, h = x.shape
        qkv = self.qkv(x).view(b, s, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = apply_rope(qkv[0], cos, sin), apply_rope(qkv[1], cos, sin), qkv[2]
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(o.transpose(1, 2).reshape(b, s, h))


class MoE(nn.Module):
    def __init__(self, h, f, experts, top_k, std, out_std, grouped):
        super().__init__()
        self.experts, self.top_k, self.grouped = experts, top_k, grouped
        self.gate = nn.Linear(h, experts, bias=False)
        nn.init.normal_(self.gate.weight, std=std)
        self.w1 = nn.Parameter(torch.randn(experts, h, f) * std)
        self.b1 = nn.Parameter(torch.zeros(experts, f))
        self.w2 = nn.Parameter(torch.randn(experts, f, h) * out_std)
        self.b2 = nn.Parameter(torch.zeros(experts, h))
        # Slots each expert keeps (set from outside; T*k = dropless). A buffer, so changing it in
        # place changes no compiled graph.
        self.register_buffer("capacity", torch.zeros((), dtype=torch.int64), persistent=False)

    def expert_gemm(self, x, w, offs):
        if self.grouped:
            return torch._grouped_mm(x, w, offs=offs)
        # CPU check path: the same segments, a loop (no grouped kernel there).
        out, start = x.new_zeros(x.shape[0], w.shape[-1]), 0
        for e, end in enumerate(offs.tolist()):
            out[start:end] = x[start:end] @ w[e]
            start = end
        return out

    def forward(self, x):  # x [T, H]
        t, h = x.shape
        e, k = self.experts, self.top_k
        with torch.autocast(device_type=x.device.type, enabled=False):
            probs = torch.softmax(x.float() @ self.gate.weight.float().t(), dim=-1)  # [T, E], fp32 router
        weight, expert = probs.topk(k, dim=-1)  # softmax -> top-k, no renormalisation
        flat_e, flat_w = expert.reshape(-1), weight.reshape(-1)  # [T*k]
        counts = torch.zeros(e, dtype=torch.int64, device=x.device).scatter_add_(0, flat_e, torch.ones_like(flat_e))
        aux = e / k * (probs.mean(0) * counts.float() / t).sum()
        # Sort slots by expert, descending weight within an expert (the drop order).
        order = torch.argsort(flat_e.float() * 2 + (1 - flat_w.detach()), stable=True)
        sorted_e = flat_e[order]
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.arange(t * k, device=x.device) - starts[sorted_e]
        keep = rank < self.capacity
        # Kept slots first (still by expert), dropped ones after: one grouped GEMM over the kept rows.
        second = torch.argsort((~keep).to(torch.int32), stable=True)
        order, sorted_e, keep = order[second], sorted_e[second], keep[second]
        kept_counts = torch.minimum(counts, self.capacity)
        offs = torch.cumsum(kept_counts, 0).to(torch.int32)
        rows = keep.unsqueeze(1)
        token = order // k
        compute = torch.bfloat16 if self.grouped else x.dtype
        # Rows past offs[-1] (the dropped slots) are neither computed nor defined by the grouped
        # GEMM, in the forward and in the backward: each GEMM's output goes through torch.where
        # before anything else touches it (a multiply, or GELU's backward gelu'(x)·g, would turn
        # an undefined NaN into a NaN gradient even where g is 0; capacity runs did, in run 1).
        xs = torch.where(rows, x[token].to(compute), 0)
        hid = torch.where(rows, self.expert_gemm(xs, self.w1.to(compute), offs) + self.b1.to(compute)[sorted_e], 0)
        hid = F.gelu(hid, approximate="tanh")
        y = torch.where(rows, self.expert_gemm(hid, self.w2.to(compute), offs) + self.b2.to(compute)[sorted_e], 0)
        y = y * flat_w[order].unsqueeze(1).to(compute)
        out = torch.zeros(t * k, h, dtype=y.dtype, device=x.device).index_copy(0, order, y)
        return out.view(t, k, h).sum(1).to(x.dtype), aux


class Block(nn.Module):
    def __init__(self, cfg, layers):
        super().__init__()
        out_std = cfg.std / math.sqrt(2 * layers)
        self.ln1, self.ln2 = nn.LayerNorm(cfg.hidden, eps=1e-5), nn.LayerNorm(cfg.hidden, eps=1e-5)
        self.attn = Attention(cfg.hidden, cfg.heads, cfg.std, out_std)
        self.moe = MoE(cfg.hidden, cfg.ffn, cfg.experts, cfg.top_k, cfg.std, out_std, cfg.grouped)

    def forward(self, x, cos, sin):
        x = x + self.attn(self.ln1(x), cos, sin)
        b, s, h = x.shape
        y, aux = self.moe(self.ln2(x).reshape(b * s, h))
        return x + y.view(b, s, h), aux


class Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embedding = nn.Parameter(torch.randn(cfg.vocab, cfg.hidden) * cfg.std)  # tied with the output
        self.blocks = nn.ModuleList([Block(cfg, cfg.layers) for _ in range(cfg.layers)])
        self.final = nn.LayerNorm(cfg.hidden, eps=1e-5)
        self.aux_coeff = 0.01

    def forward(self, tokens, targets, cos, sin):
        x = F.embedding(tokens, self.embedding)
        aux_total = 0
        for block in self.blocks:
            x, aux = block(x, cos, sin)
            aux_total = aux_total + aux
        logits = self.final(x) @ self.embedding.t().to(x.dtype)
        loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.view(-1))
        return loss + self.aux_coeff * aux_total


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--micro-batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--variants", default="eager:dropless,eager:1.25,compile:dropless,compile:1.25",
                   help="comma-separated mode:capacity (mode eager|compile, capacity dropless|factor)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--ceiling", type=float, default=None, help="measured bf16 GEMM ceiling, TFLOP/s (for MFU)")
    p.add_argument("--cpu", action="store_true", help="tiny model on the CPU: checks this script")
    args = p.parse_args()

    cfg = argparse.Namespace(hidden=2048, heads=16, experts=64, ffn=1408, top_k=6, vocab=50304, std=0.014,
                             layers=args.layers, grouped=True)
    device = "cuda"
    if args.cpu:
        cfg = argparse.Namespace(hidden=64, heads=4, experts=8, ffn=32, top_k=2, vocab=512, std=0.02, layers=args.layers,
                                 grouped=False)
        device = "cpu"
    b, s = args.micro_batch, args.seq
    t = b * s
    torch.manual_seed(1)
    torch.backends.cuda.matmul.allow_tf32 = False
    with torch.device(device):  # parameters drawn on the device: 1.6e9 normals on the host take a while
        model = Model(cfg)
    decay = [q for q in model.parameters() if q.ndim >= 2]
    no_decay = [q for q in model.parameters() if q.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-4, betas=(0.9, 0.95), eps=1e-8, fused=(device == "cuda"))
    tokens = torch.randint(0, 50257 if not args.cpu else 500, (b, s), device=device)
    targets = torch.randint(0, 50257 if not args.cpu else 500, (b, s), device=device)
    cos, sin = rope_tables(s, cfg.hidden // cfg.heads, 10_000.0, device)
    flops = xmoe_flops(b, s, cfg.layers, cfg.hidden, cfg.ffn, cfg.top_k, cfg.vocab)
    params = sum(q.numel() for q in model.parameters())
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}; "
          f"{params} parameters; {cfg.layers} layers, micro-batch {b}, seq {s}; flops/step {flops:.0f}", flush=True)
    compiled = None

    def set_capacity(capacity):
        value = t * cfg.top_k if capacity is None else max(4, math.ceil(t * cfg.top_k * capacity / cfg.experts))
        for block in model.blocks:
            block.moe.capacity.fill_(value)

    for variant in args.variants.split(","):
        mode, cap = variant.split(":")
        capacity = None if cap == "dropless" else float(cap)
        name = f"torch_{mode}_{'dropless' if capacity is None else 'capacity_' + cap}"
        try:
            set_capacity(capacity)
            if mode == "compile" and compiled is None:
                compiled = torch.compile(model)
            forward = compiled if mode == "compile" else model

            def step():
                optimizer.zero_grad(set_to_none=True)
                with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=(device == "cuda")):
                    loss = forward(tokens, targets, cos, sin)
                loss.backward()
                optimizer.step()
                return loss

            first = time.time()
            for _ in range(args.warmup):
                loss = step()
            first_loss = float(loss.detach())
            if not math.isfinite(first_loss):
                raise FloatingPointError(f"loss {first_loss} after warm-up: the timings would be of garbage")
            warm_seconds = time.time() - first
            if device == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            times = []
            for _ in range(args.steps):
                if device == "cuda":
                    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    start.record()
                    loss = step()
                    end.record()
                    end.synchronize()
                    times.append(start.elapsed_time(end) / 1e3)
                else:
                    started = time.time()
                    loss = step()
                    times.append(time.time() - started)
            seconds = statistics.median(times)
            tflops = flops / seconds / 1e12
            mfu = f"{100 * tflops / args.ceiling:.1f}%" if args.ceiling else "n/a"
            peak = f"{torch.cuda.max_memory_allocated() / 2**30:.2f}" if device == "cuda" else "n/a"
            reserved = f"{torch.cuda.max_memory_reserved() / 2**30:.2f}" if device == "cuda" else "n/a"
            print(f"{name}: warm-up {args.warmup} steps {warm_seconds:.1f} s (compile included), loss {first_loss:.4f} -> "
                  f"{float(loss.detach()):.4f}; steps ms {[round(x * 1e3, 1) for x in times]}", flush=True)
            print(f"RESULT name={name} ms_per_step={seconds * 1e3:.1f} tokens_per_s={t / seconds:.0f} tflops={tflops:.2f} "
                  f"mfu={mfu} peak_gib={peak} reserved_gib={reserved}", flush=True)
        except Exception as error:  # one variant failing must not hide the others
            print(f"FAIL {name}: {type(error).__name__}: {error}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
