import XMoECompute
import XMoEComputeCUDA

/// The sm_90a expert GEMM kernel (`expertGemmKernelBF16`, the `.rows(transB: true)` shape) against
/// the CPU backend's fp32 product of the same bf16 values, fp32 and bf16 outputs, beta 0 and 0.5,
/// on the shapes of `expertGemmChecks` (k a multiple of 8); each twice, bit-identical required.
func expertGemmKernelChecks(gpu: CUDABackend, cpu: CPUBackend, random: inout CheckRandom, say: (String) -> Void) -> [String] {
    guard gpu.arch == "sm_90" else {
        say("skip expert gemm kernel (sm_90a): this GPU is \(gpu.arch), the kernel needs Hopper")
        return []
    }
    if let problem = gpu.expertGemmKernelProblem {
        say("FAIL expert gemm kernel (sm_90a): unavailable: \(problem)")
        return ["expert gemm kernel"]
    }
    var failures: [String] = []
    func randomFloats(_ n: Int) -> [Float] { (0..<n).map { _ in roundToBFloat16(Float(random.normal())) } }
    func device(_ values: [Float]) -> Tensor {
        let t = gpu.makeTensor([values.count])
        gpu.upload(values, to: t)
        return t
    }
    func bf16(_ values: [Float]) -> BF16Buffer {
        let b = gpu.makeBF16(count: values.count)
        gpu.convert(device(values), to: b)
        return b
    }
    func host(_ values: [Float], _ shape: [Int]) -> Tensor {
        let t = cpu.makeTensor(shape)
        cpu.upload(values, to: t)
        return t
    }
    let cases: [(counts: [Int], k: Int, n: Int)] = [
        ([0, 7, 1, 0, 20], 72, 40), ([130, 0, 257], 64, 128), ([0, 0, 1], 64, 64), ([33, 65, 0, 129, 1], 200, 136),
        ([300, 0, 129, 77], 2048, 1408), ([700, 513], 1408, 2048),
    ]
    for (counts, k, n) in cases {
        let rows = counts.reduce(0, +), e = counts.count
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        for (output, beta) in [(ExpertGemmOutput.float32, Float(0.5)), (.bfloat16, 0), (.float32, 0)] {
            let a = randomFloats(rows * k), bt = randomFloats(e * n * k), c0 = randomFloats(rows * n)
            let cc = host(c0, [rows, n])
            cpu.groupedGemm(transB: true, k: k, n: n, alpha: 1, a: host(a, [rows, k]), w: host(bt, [e, n, k]), beta: beta, c: cc,
                            rowOffsets: offsets, rowCounts: counts)
            let reference = cpu.downloadFloats(cc)
            let ga = bf16(a), gb = bf16(bt)
            var results: [[Float]] = []
            for _ in 0..<2 {
                switch output {
                case .float32:
                    let gc = device(c0)
                    gpu.expertGemmKernelBF16(k: k, n: n, a: ga.devicePointer, aRows: rows, bt: gb.devicePointer, beta: beta,
                                             c: gpu.deviceAddress(of: gc), output: .float32, rowOffsets: offsets, rowCounts: counts)
                    results.append(gpu.downloadFloats(gc))
                case .bfloat16:
                    let gc = bf16(c0)
                    gpu.expertGemmKernelBF16(k: k, n: n, a: ga.devicePointer, aRows: rows, bt: gb.devicePointer, beta: beta,
                                             c: gc.devicePointer, output: .bfloat16, rowOffsets: offsets, rowCounts: counts)
                    let t = gpu.makeTensor([gc.count])
                    gpu.convert(gc, to: t)
                    results.append(gpu.downloadFloats(t))
                }
            }
            let error = relativeError(.floats(results[0]), .floats(reference))
            let tolerance = output == .float32 ? expertGemmFloat32Tolerance : bf16Tolerance
            let identical = zip(results[0], results[1]).allSatisfy { $0.bitPattern == $1.bitPattern }
            let ok = error <= tolerance && identical
            let name = "expert gemm kernel sm90a \(output == .float32 ? "fp32" : "bf16") beta \(beta) counts \(counts) k\(k) n\(n)"
            say("\(ok ? "ok  " : "FAIL") \(name.padding(toLength: 62, withPad: " ", startingAt: 0)) rel err \(format(error)) (≤ \(format(tolerance)))"
                + (identical ? "" : ", NOT bit-identical"))
            if !ok { failures.append(name) }
        }
    }
    return failures
}

/// The kernel on the X-MoE Small shapes it serves: forward with the weights given as Wᵀ [E, 1408,
/// 2048], and the data gradient dC · Wᵀ with W [E, 2048, 1408] as stored. Host clock, 20 calls.
func expertGemmKernelBenchmark(gpu: CUDABackend) -> [String] {
    let bench = Benchmark(gpu: gpu)
    var random = CheckRandom(seed: 12)
    let (t, h, f, e) = (8192 * 6, 2048, 1408, 64)
    let flops = 2 * Double(t) * Double(h) * Double(f)
    var uneven = (0..<e).map { t / e + ($0 * 37) % 257 - 128 }
    uneven[e - 1] += t - uneven.reduce(0, +)
    func bf16(_ tensor: Tensor) -> BF16Buffer {
        let b = gpu.makeBF16(count: tensor.count)
        gpu.convert(tensor, to: b)
        return b
    }
    let x = bf16(bench.randomTensor([t, h], &random)), w = bf16(bench.randomTensor([e, h, f], &random))
    let dC = bf16(bench.randomTensor([t, f], &random))
    let y = gpu.makeBF16(count: t * f), dx = gpu.makeBF16(count: t * h)
    var lines: [String] = []
    for (label, counts) in [("equal", [Int](repeating: t / e, count: e)), ("uneven", uneven)] {
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        // w's values serve as Wᵀ [E, 1408, 2048] here: the timing depends on shapes, not values.
        let fwd = bench.seconds(repeats: 20) {
            gpu.expertGemmKernelBF16(k: h, n: f, a: x.devicePointer, aRows: t, bt: w.devicePointer, beta: 0, c: y.devicePointer,
                                     output: .bfloat16, rowOffsets: offsets, rowCounts: counts)
        }
        lines.append(String(format: "fwd %@ sm90a kernel (Wᵀ given): %.3f ms, %.0f TFLOP/s", label, fwd * 1e3, flops / fwd / 1e12))
        let dgrad = bench.seconds(repeats: 20) {
            gpu.expertGemmKernelBF16(k: f, n: h, a: dC.devicePointer, aRows: t, bt: w.devicePointer, beta: 0, c: dx.devicePointer,
                                     output: .bfloat16, rowOffsets: offsets, rowCounts: counts)
        }
        lines.append(String(format: "dgrad %@ sm90a kernel: %.3f ms, %.0f TFLOP/s", label, dgrad * 1e3, flops / dgrad / 1e12))
    }
    return lines
}
