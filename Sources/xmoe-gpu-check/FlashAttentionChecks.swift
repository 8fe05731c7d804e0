import Dispatch
import Foundation
import XMoECompute
import XMoEComputeCUDA

/// Flash attention forward + backward against the CPU backend (fp32) at awkward shapes: seq 1,
/// seq 37 and 130 (divide no tile), head widths 16, 64 and 128, batch·heads up to 64, and one
/// sequence of 2048 at width 128. The row log-sum-exp and out must be written completely (poisoned).
func flashAttentionCases() -> [OpCase] {
    var cases: [OpCase] = []
    let shapes = [(3, 1, 2, 16), (2, 37, 3, 16), (1, 37, 1, 64), (2, 130, 2, 128), (1, 1, 1, 128), (4, 64, 16, 64), (1, 2048, 1, 128)]
    for (batch, seq, heads, d) in shapes {
        let rows = batch * seq, h = heads * d
        cases.append(OpCase(name: "flash attention fwd+bwd b\(batch) s\(seq) n\(heads) d\(d)",
                            tensors: [TensorSpec(name: "qkv", shape: [rows, 3 * h], fill: .normal(scale: 1)),
                                      TensorSpec(name: "out", shape: [rows, h], fill: .poison),
                                      TensorSpec(name: "lse", shape: [batch * heads, seq], fill: .poison),
                                      TensorSpec(name: "d", shape: [rows, h], fill: .normal(scale: 1)),
                                      TensorSpec(name: "dqkv", shape: [rows, 3 * h], fill: .normal(scale: 1))],
                            outputs: ["out", "lse", "dqkv"], tolerance: fp32GemmTolerance) { be, x in
            be.flashAttentionForward(qkv: x["qkv"]!, heads: heads, seqLen: seq, out: x["out"]!, logSumExp: x["lse"]!)
            be.flashAttentionBackward(dOut: x["d"]!, qkv: x["qkv"]!, out: x["out"]!, logSumExp: x["lse"]!, heads: heads,
                                      seqLen: seq, dQkv: x["dqkv"]!)
        })
    }
    return cases
}

/// Flash attention against the materialised op at the X-MoE Small shape (micro-batch 4, seq 2048,
/// 16 heads, width 128): milliseconds and TFLOP/s, causal FLOPs (forward 2·2·B·N·S²·D/2, backward
/// 2.5× that), as PyTorch's benchmarks count them.
func flashAttentionBenchmark(gpu: CUDABackend) -> [String] {
    let s = SmallAttentionShape(gpu: gpu)
    let (bench, batch, seq, heads) = (s.bench, s.batch, s.seq, s.heads)
    let (qkv, dOut, out, lse, dQkv, forwardFlops) = (s.qkv, s.dOut, s.out, s.lse, s.dQkv, s.forwardFlops)
    var lines: [String] = []
    func line(_ label: String, _ seconds: Double, _ flops: Double) {
        lines.append(String(format: "%@: %.2f ms, %.2f TFLOP/s", label, seconds * 1e3, flops / seconds / 1e12))
    }
    let flashForward = bench.seconds(repeats: 3) {
        gpu.flashAttentionForward(qkv: qkv, heads: heads, seqLen: seq, out: out, logSumExp: lse)
    }
    line("flash attention fp32 forward B4 S2048 N16 D128", flashForward, forwardFlops)
    let flashBackward = bench.seconds(repeats: 3) {
        gpu.flashAttentionBackward(dOut: dOut, qkv: qkv, out: out, logSumExp: lse, heads: heads, seqLen: seq, dQkv: dQkv)
    }
    line("flash attention fp32 backward", flashBackward, 2.5 * forwardFlops)
    line("flash attention fp32 forward+backward", flashForward + flashBackward, 3.5 * forwardFlops)
    let probs = gpu.makeTensor([batch * heads, seq, seq])
    let oldForward = bench.seconds(repeats: 3) {
        gpu.attentionForward(qkv: qkv, heads: heads, seqLen: seq, out: out, probs: probs)
    }
    line("materialised attention fp32 forward (cuBLAS, probs 1 GiB)", oldForward, forwardFlops)
    let oldBackward = bench.seconds(repeats: 3) {
        gpu.attentionBackward(dOut: dOut, qkv: qkv, probs: probs, heads: heads, seqLen: seq, dQkv: dQkv)
    }
    line("materialised attention fp32 backward", oldBackward, 2.5 * forwardFlops)
    line("materialised attention fp32 forward+backward", oldForward + oldBackward, 3.5 * forwardFlops)
    return lines
}

/// The CPU backend's flash attention against its materialised op (forward + backward, median of 5
/// after a warm-up), at the quickstart's shape (micro-batch 8, 4 heads, seq 64, width 16) and a
/// longer one; runs on any machine (`--cpu-attention-benchmark`).
func cpuAttentionBenchmark(threads: Int) -> [String] {
    let cpu = CPUBackend(threads: threads)
    var random = CheckRandom(seed: 12)
    var lines: [String] = []
    for (batch, seq, heads, d) in [(8, 64, 4, 16), (1, 1024, 4, 64)] {
        let rows = batch * seq, h = heads * d
        let qkv = cpu.makeTensor([rows, 3 * h]), dOut = cpu.makeTensor([rows, h])
        cpu.upload((0..<qkv.count).map { _ in Float(random.normal()) }, to: qkv)
        cpu.upload((0..<dOut.count).map { _ in Float(random.normal()) }, to: dOut)
        let out = cpu.makeTensor([rows, h]), dQkv = cpu.makeTensor([rows, 3 * h])
        let probs = cpu.makeTensor([batch * heads, seq, seq]), lse = cpu.makeTensor([batch * heads, seq])
        func median(_ body: () -> Void) -> Double {
            body()
            let times = (0..<5).map { _ in
                let start = DispatchTime.now().uptimeNanoseconds
                body()
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            }
            return times.sorted()[2]
        }
        let old = median {
            cpu.attentionForward(qkv: qkv, heads: heads, seqLen: seq, out: out, probs: probs)
            cpu.attentionBackward(dOut: dOut, qkv: qkv, probs: probs, heads: heads, seqLen: seq, dQkv: dQkv)
        }
        let flash = median {
            cpu.flashAttentionForward(qkv: qkv, heads: heads, seqLen: seq, out: out, logSumExp: lse)
            cpu.flashAttentionBackward(dOut: dOut, qkv: qkv, out: out, logSumExp: lse, heads: heads, seqLen: seq, dQkv: dQkv)
        }
        lines.append(String(format: "CPU (%d threads) attention fwd+bwd B%d S%d N%d D%d: materialised %.3f ms, flash %.3f ms",
                            threads, batch, seq, heads, d, old, flash))
    }
    return lines
}

/// The training check again with attention dropout 0, so the model's attention runs as flash
/// attention on both backends (with dropout it keeps the materialised path): per-step losses within
/// `trainingLossTolerance`, two GPU runs bit-identical. Returns the failures' names.
func flashTrainingCheck(cpu: Backend, gpu: Backend, say: (String) -> Void) -> [String] {
    // The CUDA backend keeps the materialised path by default (its flash kernels are slower still).
    let cuda = gpu as? CUDABackend
    let preferred = cuda?.prefersFlashAttention
    cuda?.prefersFlashAttention = true
    defer { if let preferred { cuda?.prefersFlashAttention = preferred } }
    do {
        let steps = 20
        let cpuLosses = try trainLosses(backend: cpu, steps: steps, attentionDropout: 0).losses
        let gpuLosses = try trainLosses(backend: gpu, steps: steps, attentionDropout: 0).losses
        let gpuAgain = try trainLosses(backend: gpu, steps: steps, attentionDropout: 0).losses
        var worst = 0.0
        for (g, c) in zip(gpuLosses, cpuLosses) {
            let e = g.isFinite && c.isFinite ? abs(Double(g) - Double(c)) / abs(Double(c)) : .nan
            worst = e.isNaN || worst.isNaN ? .nan : max(worst, e)
        }
        let identical = zip(gpuLosses, gpuAgain).allSatisfy { $0.bitPattern == $1.bitPattern }
        let ok = worst <= trainingLossTolerance && identical
        say(String(format: "training with flash attention (attention dropout 0), 20 steps: cpu loss %.5f → %.5f, gpu %.5f → %.5f",
                   cpuLosses[0], cpuLosses[steps - 1], gpuLosses[0], gpuLosses[steps - 1]))
        say("\(ok ? "ok  " : "FAIL") training with flash attention: worst per-step relative loss difference \(format(worst)) "
            + "(≤ \(format(trainingLossTolerance))); two GPU runs \(identical ? "bit-identical" : "DIFFER")")
        return ok ? [] : ["training with flash attention"]
    } catch {
        say("FAIL training with flash attention: \(error)")
        return ["training with flash attention"]
    }
}

/// The stated tolerance of the tensor-core flash kernels against the CPU's fp32 flash attention
/// (relative L2 over out, lse and dQkv): Q, K, V, dO, P and dS are rounded to bf16 (2⁻⁹ relative
/// each), every sum is fp32, so out and dQkv land within ~1% and the log-sum-exp far closer.
let tensorCoreFlashTolerance = 2e-2

/// The tensor-core kernels (called directly, whatever the backend's compute dtype) against the CPU
/// backend's fp32 flash attention: seq 1, 37 and 129 (no whole tile), 2048; widths 64 and 128;
/// batch·heads up to 64. dQkv starts at zero in half the cases (the gradient's own error) and at
/// random values in the others (it must accumulate, not overwrite).
func tensorCoreFlashAttentionCases() -> [OpCase] {
    var cases: [OpCase] = []
    let shapes = [(3, 1, 2, 64), (2, 37, 3, 64), (1, 37, 1, 128), (2, 129, 2, 128), (1, 1, 1, 128), (2, 129, 2, 64),
                  (4, 64, 16, 64), (4, 129, 16, 128), (1, 2048, 1, 128), (1, 2048, 2, 64)]
    for (index, (batch, seq, heads, d)) in shapes.enumerated() {
        let rows = batch * seq, h = heads * d
        let accumulates = index % 2 == 1
        cases.append(OpCase(name: "tensor-core flash attention b\(batch) s\(seq) n\(heads) d\(d)\(accumulates ? " +=" : "")",
                            tensors: [TensorSpec(name: "qkv", shape: [rows, 3 * h], fill: .normal(scale: 1)),
                                      TensorSpec(name: "out", shape: [rows, h], fill: .poison),
                                      TensorSpec(name: "lse", shape: [batch * heads, seq], fill: .poison),
                                      TensorSpec(name: "d", shape: [rows, h], fill: .normal(scale: 1)),
                                      TensorSpec(name: "dqkv", shape: [rows, 3 * h], fill: accumulates ? .normal(scale: 1) : .uniform(0, 0))],
                            outputs: ["out", "lse", "dqkv"], tolerance: tensorCoreFlashTolerance) { be, x in
            if let gpu = be as? CUDABackend {
                gpu.tensorCoreFlashAttentionForward(qkv: x["qkv"]!, heads: heads, seqLen: seq, out: x["out"]!, logSumExp: x["lse"]!)
                gpu.tensorCoreFlashAttentionBackward(dOut: x["d"]!, qkv: x["qkv"]!, out: x["out"]!, logSumExp: x["lse"]!, heads: heads,
                                                     seqLen: seq, dQkv: x["dqkv"]!)
            } else {
                be.flashAttentionForward(qkv: x["qkv"]!, heads: heads, seqLen: seq, out: x["out"]!, logSumExp: x["lse"]!)
                be.flashAttentionBackward(dOut: x["d"]!, qkv: x["qkv"]!, out: x["out"]!, logSumExp: x["lse"]!, heads: heads,
                                          seqLen: seq, dQkv: x["dqkv"]!)
            }
        })
        if !accumulates {
            // dQkv in bf16 (the model's: written, rounded), against the CPU's fp32 gradient.
            cases.append(OpCase(name: "tensor-core flash attention + RoPE, dQkv bf16 b\(batch) s\(seq) n\(heads) d\(d)",
                                tensors: [TensorSpec(name: "qkv", shape: [rows, 3 * h], fill: .normal(scale: 1)),
                                          TensorSpec(name: "out", shape: [rows, h], fill: .poison),
                                          TensorSpec(name: "lse", shape: [batch * heads, seq], fill: .poison),
                                          TensorSpec(name: "d", shape: [rows, h], fill: .normal(scale: 1)),
                                          TensorSpec(name: "dqkv", shape: [rows, 3 * h], fill: .poison)],
                                outputs: ["out", "lse", "dqkv"], tolerance: tensorCoreFlashTolerance) { be, x in
                let theta: Float = 10_000
                if let gpu = be as? CUDABackend {
                    let packed = gpu.tensorCoreFlashAttentionRoPEForward(qkv: x["qkv"]!, heads: heads, seqLen: seq, theta: theta, out: x["out"]!,
                                                                         logSumExp: x["lse"]!)
                    let dq16 = gpu.makeOutput([rows, 3 * h], dtype: .bfloat16)
                    gpu.tensorCoreFlashAttentionRoPEBackward(dOut: x["d"]!, packed: packed, out: x["out"]!, logSumExp: x["lse"]!, heads: heads,
                                                             seqLen: seq, theta: theta, dQkv: dq16, overwrite: true)
                    gpu.convert(dq16, to: x["dqkv"]!)
                } else {
                    be.flashAttentionRoPEForwardComposed(qkv: x["qkv"]!, heads: heads, seqLen: seq, theta: theta, out: x["out"]!, logSumExp: x["lse"]!)
                    be.flashAttentionRoPEBackwardComposed(dOut: x["d"]!, qkv: x["qkv"]!, out: x["out"]!, logSumExp: x["lse"]!, heads: heads,
                                                          seqLen: seq, theta: theta, dQkv: x["dqkv"]!, overwrite: true)
                }
            })
        }
        // RoPE fused into the kernels (the pack rotates q and k, dq and dk/dv un-rotate their sums):
        // against the CPU's rotation, flash attention and RoPE backward as separate ops.
        cases.append(OpCase(name: "tensor-core flash attention + RoPE b\(batch) s\(seq) n\(heads) d\(d)\(accumulates ? " +=" : "")",
                            tensors: [TensorSpec(name: "qkv", shape: [rows, 3 * h], fill: .normal(scale: 1)),
                                      TensorSpec(name: "out", shape: [rows, h], fill: .poison),
                                      TensorSpec(name: "lse", shape: [batch * heads, seq], fill: .poison),
                                      TensorSpec(name: "d", shape: [rows, h], fill: .normal(scale: 1)),
                                      TensorSpec(name: "dqkv", shape: [rows, 3 * h], fill: accumulates ? .normal(scale: 1) : .poison)],
                            outputs: ["out", "lse", "dqkv"], tolerance: tensorCoreFlashTolerance) { be, x in
            let theta: Float = 10_000
            if let gpu = be as? CUDABackend {
                // The model's path: the backward reads the forward's rotated pack.
                let packed = gpu.tensorCoreFlashAttentionRoPEForward(qkv: x["qkv"]!, heads: heads, seqLen: seq, theta: theta, out: x["out"]!,
                                                                     logSumExp: x["lse"]!)
                gpu.tensorCoreFlashAttentionRoPEBackward(dOut: x["d"]!, packed: packed, out: x["out"]!, logSumExp: x["lse"]!, heads: heads,
                                                         seqLen: seq, theta: theta, dQkv: x["dqkv"]!, overwrite: !accumulates)
            } else {
                be.flashAttentionRoPEForwardComposed(qkv: x["qkv"]!, heads: heads, seqLen: seq, theta: theta, out: x["out"]!, logSumExp: x["lse"]!)
                be.flashAttentionRoPEBackwardComposed(dOut: x["d"]!, qkv: x["qkv"]!, out: x["out"]!, logSumExp: x["lse"]!, heads: heads,
                                                      seqLen: seq, theta: theta, dQkv: x["dqkv"]!, overwrite: !accumulates)
            }
        })
    }
    return cases
}

/// The tensor-core kernels at the X-MoE Small shape (micro-batch 4, seq 2048, 16 heads, width 128),
/// same FLOP count as `flashAttentionBenchmark`, median of 3 rounds of 10.
func tensorCoreFlashAttentionBenchmark(gpu: CUDABackend) -> [String] {
    let s = SmallAttentionShape(gpu: gpu)
    let (bench, seq, heads) = (s.bench, s.seq, s.heads)
    let (qkv, dOut, out, lse, dQkv, forwardFlops) = (s.qkv, s.dOut, s.out, s.lse, s.dQkv, s.forwardFlops)
    var lines: [String] = []
    func line(_ label: String, _ seconds: Double, _ flops: Double) {
        lines.append(String(format: "%@: %.3f ms, %.1f TFLOP/s", label, seconds * 1e3, flops / seconds / 1e12))
    }
    let forward = bench.seconds(repeats: 10) {
        gpu.tensorCoreFlashAttentionForward(qkv: qkv, heads: heads, seqLen: seq, out: out, logSumExp: lse)
    }
    line("flash attention tensor cores (bf16 mma) forward B4 S2048 N16 D128", forward, forwardFlops)
    let backward = bench.seconds(repeats: 10) {
        gpu.tensorCoreFlashAttentionBackward(dOut: dOut, qkv: qkv, out: out, logSumExp: lse, heads: heads, seqLen: seq, dQkv: dQkv)
    }
    line("flash attention tensor cores backward (delta, dq, dkdv)", backward, 2.5 * forwardFlops)
    line("flash attention tensor cores forward+backward", forward + backward, 3.5 * forwardFlops)
    // Where the backward goes: each launch alone (the FLOPs column is meaningless for the packs).
    let stages = gpu.tensorCoreFlashAttentionBackwardStages(dOut: dOut, qkv: qkv, out: out, logSumExp: lse, heads: heads,
                                                            seqLen: seq, dQkv: dQkv)
    for stage in stages {
        let seconds = bench.seconds(repeats: 10, stage.run)
        lines.append(String(format: "flash attention tensor cores backward, %@ alone: %.3f ms", stage.name, seconds * 1e3))
    }
    return lines
}

/// bf16 compute on both sides with attention dropout 0 and one head of width 64, so the device
/// backend (bf16: `prefersFlashAttention` on) trains through the tensor-core flash kernels and the
/// bf16-emulating CPU through its fp32 flash attention: per-step losses within
/// `bf16TrainingTolerance`, two device runs bit-identical. Returns the failures' names.
func tensorCoreFlashTrainingCheck(cpuThreads: Int, say: (String) -> Void) -> [String] {
    let name = "bf16 training with tensor-core flash attention"
    do {
        let steps = 20
        let device = try CUDABackend(computeDType: .bfloat16)
        guard device.prefersFlashAttention && CUDABackend.usesTensorCoreFlash(computeDType: .bfloat16, headDim: 64) else {
            say("FAIL \(name): the bf16 backend does not select the tensor-core flash kernels at width 64")
            return [name]
        }
        let cpuLosses = try trainLosses(backend: CPUBackend(threads: cpuThreads, computeDType: .bfloat16), steps: steps,
                                        attentionDropout: 0, heads: 1).losses
        let gpuLosses = try trainLosses(backend: device, steps: steps, attentionDropout: 0, heads: 1).losses
        let gpuAgain = try trainLosses(backend: device, steps: steps, attentionDropout: 0, heads: 1).losses
        var worst = 0.0
        for (g, c) in zip(gpuLosses, cpuLosses) {
            let e = g.isFinite && c.isFinite ? abs(Double(g) - Double(c)) / abs(Double(c)) : .nan
            worst = e.isNaN || worst.isNaN ? .nan : max(worst, e)
        }
        let identical = zip(gpuLosses, gpuAgain).allSatisfy { $0.bitPattern == $1.bitPattern }
        let ok = worst <= bf16TrainingTolerance && identical
        say(String(format: "%@, 20 steps (1 head of width 64): cpu bf16 emulation %.5f → %.5f, gpu %.5f → %.5f",
                   name, cpuLosses[0], cpuLosses[steps - 1], gpuLosses[0], gpuLosses[steps - 1]))
        say("\(ok ? "ok  " : "FAIL") \(name): worst per-step relative loss difference \(format(worst)) "
            + "(≤ \(format(bf16TrainingTolerance))); two GPU runs \(identical ? "bit-identical" : "DIFFER")")
        return ok ? [] : [name]
    } catch {
        say("FAIL \(name): \(error)")
        return [name]
    }
}

/// The attention benchmarks' inputs at the X-MoE Small shape (micro-batch 4, seq 2048, 16 heads,
/// width 128) and the causal forward's FLOPs (2·2·B·N·S²·D/2).
struct SmallAttentionShape {
    let bench: Benchmark
    let batch = 4, seq = 2048, heads = 16, d = 128
    let qkv: Tensor, dOut: Tensor, out: Tensor, lse: Tensor, dQkv: Tensor

    init(gpu: CUDABackend) {
        bench = Benchmark(gpu: gpu)
        var random = CheckRandom(seed: 11)
        let rows = batch * seq, h = heads * d
        qkv = bench.randomTensor([rows, 3 * h], &random)
        dOut = bench.randomTensor([rows, h], &random)
        (out, lse, dQkv) = (gpu.makeTensor([rows, h]), gpu.makeTensor([batch * heads, seq]), gpu.makeTensor([rows, 3 * h]))
    }

    var forwardFlops: Double { 2.0 * 2 * Double(batch * heads) * Double(seq) * Double(seq) * Double(d) / 2 }
}
