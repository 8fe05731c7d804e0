import Dispatch
import XMoECompute
import XMoEComputeCUDA

/// The X-MoE Small expert GEMMs (64 experts, 49 152 routed rows, hidden 2048, width 1408) in bf16:
/// forward, data gradient (dC · Wᵀ) and weight gradient (dW_g += A_gᵀ · dC_g, fp32 accumulate),
/// equal and uneven rows, through `expertGemmBF16` at 1, 2 and 4 streams and, for the row-shaped
/// two, through one cublasGemmGroupedBatchedEx call. Host clock around 20 calls, synchronised.
/// Prints "expert-bench: <shape> <rows> <path>: <ms> ms, <TFLOP/s>" lines, which the device
/// script sets beside torch._grouped_mm's.
func expertGemmBenchmark(gpu: CUDABackend) -> [String] {
    let bench = Benchmark(gpu: gpu)
    var random = CheckRandom(seed: 11)
    let (t, h, f, e) = (8192 * 6, 2048, 1408, 64)
    let flops = 2 * Double(t) * Double(h) * Double(f)
    let equal = [Int](repeating: t / e, count: e)
    var uneven = (0..<e).map { t / e + ($0 * 37) % 257 - 128 }
    uneven[e - 1] += t - uneven.reduce(0, +)
    func bf16(_ tensor: Tensor) -> BF16Buffer {
        let b = gpu.makeBF16(count: tensor.count)
        gpu.convert(tensor, to: b)
        return b
    }
    let x = bf16(bench.randomTensor([t, h], &random)), w = bf16(bench.randomTensor([e, h, f], &random))
    let dC = bf16(bench.randomTensor([t, f], &random))
    let y = gpu.makeBF16(count: t * f), dx = gpu.makeBF16(count: t * h), dW = gpu.makeTensor([e, h, f])
    var lines: [String] = []
    func line(_ shape: String, _ rows: String, _ path: String, _ seconds: Double) {
        lines.append(String(format: "%@ %@ %@: %.3f ms, %.0f TFLOP/s", shape, rows, path, seconds * 1e3, flops / seconds / 1e12))
    }
    for (rowsLabel, counts) in [("equal", equal), ("uneven", uneven)] {
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        for streams in [1, 2, 4] {
            let path = "per-expert cublasGemmEx, \(streams) stream\(streams == 1 ? "" : "s")"
            line("fwd", rowsLabel, path, bench.seconds(repeats: 20) {
                gpu.expertGemmBF16(.rows(transB: false), k: h, n: f, a: x.devicePointer, b: w.devicePointer, beta: 0, c: y.devicePointer,
                                   output: .bfloat16, rowOffsets: offsets, rowCounts: counts, streams: streams)
            })
            line("dgrad", rowsLabel, path, bench.seconds(repeats: 20) {
                gpu.expertGemmBF16(.rows(transB: true), k: f, n: h, a: dC.devicePointer, b: w.devicePointer, beta: 0, c: dx.devicePointer,
                                   output: .bfloat16, rowOffsets: offsets, rowCounts: counts, streams: streams)
            })
            line("wgrad", rowsLabel, path + ", fp32 dW beta 1", bench.seconds(repeats: 20) {
                gpu.expertGemmBF16(.weightGradient, k: h, n: f, a: x.devicePointer, b: dC.devicePointer, beta: 1,
                                   c: gpu.deviceAddress(of: dW), output: .float32, rowOffsets: offsets, rowCounts: counts, streams: streams)
            })
        }
        line("fwd", rowsLabel, "cublasGemmGroupedBatchedEx", bench.seconds(repeats: 20) {
            gpu.groupedGemmBF16CublasGrouped(transB: false, k: h, n: f, a: x, w: w, beta: 0, c: y, rowOffsets: offsets, rowCounts: counts)
        })
        line("dgrad", rowsLabel, "cublasGemmGroupedBatchedEx", bench.seconds(repeats: 20) {
            gpu.groupedGemmBF16CublasGrouped(transB: true, k: f, n: h, a: dC, w: w, beta: 0, c: dx, rowOffsets: offsets, rowCounts: counts)
        })
    }
    lines += freshRowsBenchmark(gpu: gpu, x: x, w: w, dC: dC, dW: dW, t: t, h: h, f: f, e: e, random: &random)
    return lines
}

/// The same three products as the model runs them (fp32 outputs), but with new uneven row counts
/// on every call, as a router gives each micro-batch: 12 distributions, timed one call at a time,
/// twice over (the second pass meets the counts again). The host's submit time is printed beside
/// the synchronised total: cuBLAS picks a kernel per new shape on the host.
private func freshRowsBenchmark(gpu: CUDABackend, x: BF16Buffer, w: BF16Buffer, dC: BF16Buffer, dW: Tensor,
                                t: Int, h: Int, f: Int, e: Int, random: inout CheckRandom) -> [String] {
    let draws = (0..<12).map { _ -> [Int] in
        // Σ = t, every count in [0, 3·t/e): a skewed split like an untrained router's.
        var counts = (0..<e).map { _ in Int(random.next() % UInt64(3 * t / e)) }
        let total = counts.reduce(0, +)
        counts = counts.map { $0 * t / max(total, 1) }
        counts[e - 1] += t - counts.reduce(0, +)
        return counts
    }
    let y32 = gpu.makeTensor([t, f]), dx32 = gpu.makeTensor([t, h])
    let clock = { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }
    var lines: [String] = []
    defer { gpu.expertGemmUsesLt = true }
    for (shape, run) in [
        ("fwd", { (o: [Int], c: [Int]) in
            gpu.expertGemmBF16(.rows(transB: false), k: h, n: f, a: x.devicePointer, b: w.devicePointer, beta: 0,
                               c: gpu.deviceAddress(of: y32), output: .float32, rowOffsets: o, rowCounts: c) }),
        ("dgrad", { (o: [Int], c: [Int]) in
            gpu.expertGemmBF16(.rows(transB: true), k: f, n: h, a: dC.devicePointer, b: w.devicePointer, beta: 1,
                               c: gpu.deviceAddress(of: dx32), output: .float32, rowOffsets: o, rowCounts: c) }),
        ("wgrad", { (o: [Int], c: [Int]) in
            gpu.expertGemmBF16(.weightGradient, k: h, n: f, a: x.devicePointer, b: dC.devicePointer, beta: 1,
                               c: gpu.deviceAddress(of: dW), output: .float32, rowOffsets: o, rowCounts: c) }),
    ] as [(String, ([Int], [Int]) -> Void)] {
        for lt in [false, true] {
            gpu.expertGemmUsesLt = lt
            let path = lt ? "per-expert cuBLASLt (algorithm per shape class)" : "per-expert cublasGemmEx"
            for pass in 1...2 {
                var submit = 0.0, total = 0.0
                for counts in draws {
                    let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
                    gpu.synchronize()
                    let start = clock()
                    run(offsets, counts)
                    let submitted = clock()
                    gpu.synchronize()
                    submit += submitted - start
                    total += clock() - start
                }
                let n = Double(draws.count)
                lines.append(String(format: "%@ fresh-uneven pass %d, %@, fp32 out: %.3f ms/call, host submit %.3f ms/call",
                                    shape, pass, path, total / n, submit / n))
            }
        }
    }
    return lines
}
