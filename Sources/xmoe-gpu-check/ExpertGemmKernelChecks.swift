import XMoECompute
import XMoEComputeCUDA

/// The sm_90a expert GEMM kernel (`expertGemmKernelBF16`) in each operand layout against the CPU
/// backend's fp32 product of the same bf16 values: the data gradient's K-contiguous weights, the
/// forward's N-contiguous weights, and the weight gradient; fp32 and bf16 outputs, beta 0, 0.5 and
/// 1, on the shapes of `expertGemmChecks` (k a multiple of 8). Every operand has 3 rows of NaN
/// past its last segment, so a tile that let rows it does not own into a sum (the weight
/// gradient's reduction tail) fails. Each runs twice, bit-identical required.
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
    let padRows = 3
    func padded(_ values: [Float], columns: Int) -> [Float] { values + [Float](repeating: .nan, count: padRows * columns) }
    let cases: [(counts: [Int], k: Int, n: Int)] = [
        ([0, 7, 1, 0, 20], 72, 40), ([130, 0, 257], 64, 128), ([0, 0, 1], 64, 64), ([33, 65, 0, 129, 1], 200, 136),
        ([300, 0, 129, 77], 2048, 1408), ([700, 513], 1408, 2048),
    ]
    let kinds: [(ExpertGemmKernelLayout, ExpertGemmOutput, Float, bias: Bool)] = [
        (.weightsKContiguous, .float32, 0.5, false), (.weightsKContiguous, .bfloat16, 0, false), (.weightsKContiguous, .float32, 0, false),
        (.weightsNContiguous, .float32, 0, false), (.weightsNContiguous, .float32, 0.5, false), (.weightsNContiguous, .bfloat16, 0, false),
        (.weightsNContiguous, .float32, 0, true), (.weightsNContiguous, .bfloat16, 0, true), (.weightsKContiguous, .float32, 0.5, true),
        (.weightGradient, .float32, 1, false), (.weightGradient, .float32, 0, false), (.weightGradient, .bfloat16, 0, false),
    ]
    for (counts, k, n) in cases {
        let rows = counts.reduce(0, +), e = counts.count
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        for (layout, output, beta, withBias) in kinds {
            let biasValues = withBias ? randomFloats(e * n) : []
            let a = randomFloats(rows * k)
            let b = layout == .weightGradient ? randomFloats(rows * n) : randomFloats(e * n * k)
            let c0 = randomFloats(layout == .weightGradient ? e * k * n : rows * n)
            let reference: [Float]
            switch layout {
            case .weightsKContiguous, .weightsNContiguous:
                let transB = layout == .weightsKContiguous
                let cc = host(c0, [rows, n])
                cpu.groupedGemm(transB: transB, k: k, n: n, alpha: 1, a: host(a, [rows, k]), w: host(b, [e, transB ? n : k, transB ? k : n]),
                                beta: beta, c: cc, rowOffsets: offsets, rowCounts: counts)
                if withBias { cpu.addSegmentBias(cc, bias: host(biasValues, [e, n]), rowOffsets: offsets, rowCounts: counts) }
                reference = cpu.downloadFloats(cc)
            case .weightGradient:
                let dW = host(c0, [e, k, n])
                if beta != 1 { cpu.scale(dW, by: beta) }
                cpu.groupedGemmWeightGrad(k: k, n: n, a: host(a, [rows, k]), dC: host(b, [rows, n]), dW: dW, rowOffsets: offsets, rowCounts: counts)
                reference = cpu.downloadFloats(dW)
            }
            let ga = bf16(padded(a, columns: k))
            let gb = bf16(layout == .weightGradient ? padded(b, columns: n) : b)
            let gBias = withBias ? device(biasValues) : nil
            var results: [[Float]] = []
            for _ in 0..<2 {
                switch output {
                case .float32:
                    let gc = device(c0)
                    gpu.expertGemmKernelBF16(layout, k: k, n: n, a: ga.devicePointer, aRows: rows + padRows, b: gb.devicePointer, beta: beta,
                                             c: gpu.deviceAddress(of: gc), output: .float32, rowOffsets: offsets, rowCounts: counts,
                                             bias: gBias.map { gpu.deviceAddress(of: $0) })
                    results.append(gpu.downloadFloats(gc))
                case .bfloat16:
                    let gc = bf16(c0)
                    gpu.expertGemmKernelBF16(layout, k: k, n: n, a: ga.devicePointer, aRows: rows + padRows, b: gb.devicePointer, beta: beta,
                                             c: gc.devicePointer, output: .bfloat16, rowOffsets: offsets, rowCounts: counts,
                                             bias: gBias.map { gpu.deviceAddress(of: $0) })
                    let t = gpu.makeTensor([gc.count])
                    gpu.convert(gc, to: t)
                    results.append(gpu.downloadFloats(t))
                }
            }
            let error = relativeError(.floats(results[0]), .floats(reference))
            let tolerance = output == .float32 ? expertGemmFloat32Tolerance : bf16Tolerance
            let identical = zip(results[0], results[1]).allSatisfy { $0.bitPattern == $1.bitPattern }
            let ok = error <= tolerance && identical
            let name = "expert gemm kernel sm90a \(layout) \(output == .float32 ? "fp32" : "bf16") beta \(beta)\(withBias ? " bias" : "") counts \(counts) k\(k) n\(n)"
            say("\(ok ? "ok  " : "FAIL") \(name.padding(toLength: 62, withPad: " ", startingAt: 0)) rel err \(format(error)) (≤ \(format(tolerance)))"
                + (identical ? "" : ", NOT bit-identical"))
            if !ok { failures.append(name) }
        }
    }
    failures += fusedBiasChecks(gpu: gpu, cpu: cpu, random: &random, say: say)
    return failures
}

/// `groupedLinearForward` on bf16 rows and weights with an fp32 bias: the CUDA backend adds the
/// bias in the kernel's epilogue, which must give the same bits as the product followed by the
/// separate bias pass (`groupedLinearForwardUnfused`), and match the CPU backend.
func fusedBiasChecks(gpu: CUDABackend, cpu: CPUBackend, random: inout CheckRandom, say: (String) -> Void) -> [String] {
    var failures: [String] = []
    for (counts, k, n) in [([0, 7, 1, 0, 20], 72, 40), ([300, 0, 129, 77], 2048, 1408), ([700, 513], 1408, 2048)] {
        let rows = counts.reduce(0, +), e = counts.count
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        let values = (x: (0..<rows * k).map { _ in Float(random.normal()) }, w: (0..<e * k * n).map { _ in Float(random.normal()) },
                      b: (0..<e * n).map { _ in Float(random.normal()) })
        func tensors(_ be: Backend) -> (x: Tensor, w: Tensor, b: Tensor) {
            let x = be.makeTensor([rows, k]), w = be.makeTensor([e, k, n]), b = be.makeTensor([e, n])
            be.upload(values.x, to: x); be.upload(values.w, to: w); be.upload(values.b, to: b)
            return (be.converted(x, to: .bfloat16), be.converted(w, to: .bfloat16), b)
        }
        let (cx, cw, cb) = tensors(cpu), (gx, gw, gb) = tensors(gpu)
        let cOut = cpu.makeTensor([rows, n]), fused = gpu.makeTensor([rows, n]), unfused = gpu.makeTensor([rows, n])
        cpu.groupedLinearForward(x: cx, w: cw, b: cb, rowOffsets: offsets, rowCounts: counts, out: cOut)
        gpu.groupedLinearForward(x: gx, w: gw, b: gb, rowOffsets: offsets, rowCounts: counts, out: fused)
        gpu.groupedLinearForwardUnfused(x: gx, w: gw, b: gb, rowOffsets: offsets, rowCounts: counts, out: unfused)
        let (f, u) = (gpu.downloadFloats(fused), gpu.downloadFloats(unfused))
        let error = relativeError(.floats(f), .floats(cpu.downloadFloats(cOut)))
        let same = zip(f, u).allSatisfy { $0.bitPattern == $1.bitPattern }
        let ok = error <= expertGemmFloat32Tolerance && same
        let name = "groupedLinearForward bf16, bias fused counts \(counts) k\(k) n\(n)"
        say("\(ok ? "ok  " : "FAIL") \(name.padding(toLength: 62, withPad: " ", startingAt: 0)) rel err \(format(error)) (≤ \(format(expertGemmFloat32Tolerance)))"
            + (same ? ", bit-identical to the unfused path" : ", NOT bit-identical to the unfused path"))
        if !ok { failures.append(name) }
    }
    return failures
}

/// The kernel on the X-MoE Small shapes it serves, each layout next to the per-expert cuBLASLt path
/// it replaces (same call, same operands): forward X · W with W [E, 2048, 1408] as stored, the data
/// gradient dC · Wᵀ, and the weight gradient Xᵀ · dC accumulated into fp32. Host clock, 20 calls.
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
    let y = gpu.makeTensor([t, f]), dx = gpu.makeTensor([t, h]), dW = gpu.makeTensor([e, h, f])
    var lines: [String] = []
    func line(_ label: String, _ seconds: Double) {
        lines.append(String(format: "%@: %.3f ms, %.0f TFLOP/s", label, seconds * 1e3, flops / seconds / 1e12))
    }
    for (label, counts) in [("equal", [Int](repeating: t / e, count: e)), ("uneven", uneven)] {
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        line("fwd \(label) sm90a kernel", bench.seconds(repeats: 20) {
            gpu.expertGemmKernelBF16(.weightsNContiguous, k: h, n: f, a: x.devicePointer, aRows: t, b: w.devicePointer, beta: 0,
                                     c: gpu.deviceAddress(of: y), output: .float32, rowOffsets: offsets, rowCounts: counts)
        })
        line("fwd \(label) per-expert cuBLASLt", bench.seconds(repeats: 20) {
            gpu.expertGemmBF16(.rows(transB: false), k: h, n: f, a: x.devicePointer, b: w.devicePointer, beta: 0,
                               c: gpu.deviceAddress(of: y), output: .float32, rowOffsets: offsets, rowCounts: counts)
        })
        line("dgrad \(label) sm90a kernel", bench.seconds(repeats: 20) {
            gpu.expertGemmKernelBF16(.weightsKContiguous, k: f, n: h, a: dC.devicePointer, aRows: t, b: w.devicePointer, beta: 0,
                                     c: gpu.deviceAddress(of: dx), output: .float32, rowOffsets: offsets, rowCounts: counts)
        })
        line("wgrad \(label) sm90a kernel (beta 1)", bench.seconds(repeats: 20) {
            gpu.expertGemmKernelBF16(.weightGradient, k: h, n: f, a: x.devicePointer, aRows: t, b: dC.devicePointer, beta: 1,
                                     c: gpu.deviceAddress(of: dW), output: .float32, rowOffsets: offsets, rowCounts: counts)
        })
        line("wgrad \(label) sm90a kernel (beta 0)", bench.seconds(repeats: 20) {
            gpu.expertGemmKernelBF16(.weightGradient, k: h, n: f, a: x.devicePointer, aRows: t, b: dC.devicePointer, beta: 0,
                                     c: gpu.deviceAddress(of: dW), output: .float32, rowOffsets: offsets, rowCounts: counts)
        })
        line("wgrad \(label) per-expert cuBLASLt (beta 1)", bench.seconds(repeats: 20) {
            gpu.expertGemmBF16(.weightGradient, k: h, n: f, a: x.devicePointer, b: dC.devicePointer, beta: 1,
                               c: gpu.deviceAddress(of: dW), output: .float32, rowOffsets: offsets, rowCounts: counts)
        })
    }
    return lines
}
