import Dispatch
import XMoECompute
import XMoEComputeCUDA

/// A few timings of the fp32 backend (host clock around `repeats` launches, synchronised; median of
/// three rounds after a warm-up). Shapes of the X-MoE Small layer: T = 4 · 2048 tokens, H 2048,
/// 64 experts of width 1408, top-6.
struct Benchmark {
    let gpu: CUDABackend

    func seconds(repeats: Int, _ body: () -> Void) -> Double {
        body()
        gpu.synchronize()
        var rounds: [Double] = []
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<repeats { body() }
            gpu.synchronize()
            rounds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(repeats))
        }
        return rounds.sorted()[1]
    }

    /// Random normal values (a block of 2^20 repeated, to keep the host's share short; never zeros,
    /// which can run faster than real data).
    func randomTensor(_ shape: [Int], _ random: inout CheckRandom) -> Tensor {
        let x = gpu.makeTensor(shape)
        let block = (0..<(1 << 20)).map { _ in Float(random.normal()) }
        gpu.upload((0..<shape.reduce(1, *)).map { block[$0 & ((1 << 20) - 1)] }, to: x)
        return x
    }

    func run() -> [String] {
        var lines: [String] = []
        var random = CheckRandom(seed: 7)
        let n = 8192
        let a = randomTensor([n, n], &random), b = randomTensor([n, n], &random), c = gpu.makeTensor([n, n])
        let gemm = seconds(repeats: 3) {
            gpu.gemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a, aOffset: 0, lda: n, b: b, bOffset: 0, ldb: n,
                     beta: 0, c: c, cOffset: 0, ldc: n)
        }
        lines.append(String(format: "fp32 sgemm 8192³ (cuBLAS, no TF32): %.2f ms, %.1f TFLOP/s", gemm * 1e3, 2 * pow3(n) / gemm / 1e12))

        let (t, h, f, e, k) = (8192, 2048, 1408, 64, 6)
        let rowsPerExpert = t * k / e
        let counts = [Int](repeating: rowsPerExpert, count: e), offsets = (0..<e).map { $0 * rowsPerExpert }
        let x = randomTensor([t * k, h], &random), w = randomTensor([e, h, f], &random), y = gpu.makeTensor([t * k, f])
        let grouped = seconds(repeats: 3) {
            gpu.groupedGemm(transB: false, k: h, n: f, alpha: 1, a: x, w: w, beta: 0, c: y, rowOffsets: offsets, rowCounts: counts)
        }
        let groupedFlops = 2 * Double(t * k) * Double(h) * Double(f)
        lines.append(String(format: "fp32 grouped GEMM 64 experts × %d rows, %d→%d (%@): %.2f ms, %.1f TFLOP/s", rowsPerExpert, h, f,
                            gpu.hasGroupedGemm ? "cublasSgemmGroupedBatched" : "a loop of cublasSgemm", grouped * 1e3,
                            groupedFlops / grouped / 1e12))

        if gpu.hasBF16Gemm {
            let a16 = gpu.makeBF16(count: n * n), b16 = gpu.makeBF16(count: n * n), c16 = gpu.makeBF16(count: n * n)
            gpu.convert(a, to: a16)
            gpu.convert(b, to: b16)
            let dense16 = seconds(repeats: 20) {
                gpu.gemmBF16(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a16, lda: n, b: b16, ldb: n, beta: 0, c: c16, ldc: n)
            }
            lines.append(String(format: "bf16 gemm 8192³ (cublasGemmEx, fp32 accumulation): %.3f ms, %.1f TFLOP/s", dense16 * 1e3,
                                2 * pow3(n) / dense16 / 1e12))
        }
        if gpu.hasBF16GroupedGemm {
            let x16 = gpu.makeBF16(count: x.count), w16 = gpu.makeBF16(count: w.count), y16 = gpu.makeBF16(count: y.count)
            gpu.convert(x, to: x16)
            gpu.convert(w, to: w16)
            // Uneven counts as dropless routing gives (each expert its own cuBLAS group), and equal
            // counts as a capacity factor gives (one group of 64 problems).
            var uneven = (0..<e).map { rowsPerExpert + ($0 * 37) % 257 - 128 }
            uneven[e - 1] += t * k - uneven.reduce(0, +)
            let unevenOffsets = uneven.indices.map { uneven[..<$0].reduce(0, +) }
            for (label, transB, rows, starts) in [("equal rows", false, counts, offsets), ("equal rows, transB", true, counts, offsets),
                                                  ("uneven rows", false, uneven, unevenOffsets)] {
                let g16 = seconds(repeats: 20) {
                    gpu.groupedGemmBF16CublasGrouped(transB: transB, k: h, n: f, a: x16, w: w16, beta: 0, c: y16, rowOffsets: starts, rowCounts: rows)
                }
                lines.append(String(format: "bf16 grouped GEMM 64 experts, %@, %d→%d (cublasGemmGroupedBatchedEx): %.3f ms, %.1f TFLOP/s",
                                    label, h, f, g16 * 1e3, groupedFlops / g16 / 1e12))
            }
            // The alternative the next session weighs: one cublasGemmEx per expert (64 launches).
            let loop = seconds(repeats: 20) {
                for g in 0..<e {
                    gpu.gemmBF16(transA: false, transB: false, m: uneven[g], n: f, k: h, alpha: 1, a: x16, aOffset: unevenOffsets[g] * h, lda: h,
                                 b: w16, bOffset: g * h * f, ldb: f, beta: 0, c: y16, cOffset: unevenOffsets[g] * f, ldc: f)
                }
            }
            lines.append(String(format: "bf16 loop of 64 cublasGemmEx, uneven rows, %d→%d: %.3f ms, %.1f TFLOP/s", h, f, loop * 1e3,
                                groupedFlops / loop / 1e12))
        }

        let big = randomTensor([t, h * 8], &random), copyOut = gpu.makeTensor([t, h * 8])
        let copy = seconds(repeats: 10) { gpu.copy(from: big, to: copyOut) }
        lines.append(String(format: "device copy 512 MiB: %.3f ms, %.0f GB/s (read + write)", copy * 1e3, 2 * Double(big.count * 4) / copy / 1e9))

        let xs = randomTensor([t, h], &random), wln = randomTensor([h], &random), bln = randomTensor([h], &random)
        let out = gpu.makeTensor([t, h]), mean = gpu.makeTensor([t]), rstd = gpu.makeTensor([t])
        let ln = seconds(repeats: 10) {
            gpu.layerNormForward(x: xs, weight: wln, bias: bln, eps: 1e-5, out: out, mean: mean, rstd: rstd)
        }
        lines.append(String(format: "layerNorm forward [8192, 2048]: %.3f ms, %.0f GB/s", ln * 1e3, 2 * Double(t * h * 4) / ln / 1e9))

        let logits = randomTensor([t, 50304], &random), probs = gpu.makeTensor([t, 50304])
        let targets = gpu.makeTensor([t], dtype: .int32), losses = gpu.makeTensor([t])
        gpu.upload(random.ints(t, below: 50304), to: targets)
        let ce = seconds(repeats: 3) { gpu.crossEntropyForward(logits: logits, targets: targets, probs: probs, losses: losses) }
        lines.append(String(format: "crossEntropy forward [8192, 50304]: %.2f ms, %.0f GB/s", ce * 1e3, 2 * Double(t * 50304 * 4) / ce / 1e9))
        // The chunked loss's op (two reads and one write of the logits; in place, so later runs see gradients).
        let fused = seconds(repeats: 3) { gpu.crossEntropyFused(logits: logits, targets: targets, rowOffset: 0, scale: 1 / Float(t), losses: losses) }
        lines.append(String(format: "crossEntropyFused [8192, 50304] (loss and gradient): %.2f ms, %.0f GB/s", fused * 1e3, 3 * Double(t * 50304 * 4) / fused / 1e9))

        let keys = gpu.makeTensor([t * k], dtype: .int32), order = gpu.makeTensor([t * k], dtype: .int32), cnt = gpu.makeTensor([e], dtype: .int32)
        gpu.upload(random.ints(t * k, below: e), to: keys)
        let sort = seconds(repeats: 3) { gpu.stableArgsort(keys: keys, keyCount: e, order: order, counts: cnt) }
        lines.append(String(format: "stableArgsort 49152 keys, 64 experts (multi-block counting sort): %.3f ms", sort * 1e3))

        let dx = gpu.makeTensor([t, h]), index = gpu.makeTensor([t * k], dtype: .int32)
        gpu.upload(random.ints(t * k, below: t), to: index)
        let dGathered = randomTensor([t * k, h], &random)
        let scatter = seconds(repeats: 3) { gpu.gatherRowsBackward(dDst: dGathered, index: index, dSrc: dx) }
        lines.append(String(format: "gatherRowsBackward 49152 rows → 8192 × 2048 (sort + segment sums): %.2f ms", scatter * 1e3))
        let stats = gpu.memoryStatistics
        lines.append("allocator: \(stats.inUse >> 20) MiB in use, \(stats.cached >> 20) MiB cached, \(stats.systemAllocations) cudaMalloc calls")
        return lines
    }
}

private func pow3(_ n: Int) -> Double { Double(n) * Double(n) * Double(n) }
