import XMoECompute
import XMoEComputeCUDA

/// fp32 outputs of bf16 operands: each product of two bf16 values is exact in fp32, so GPU and CPU
/// differ only by their fp32 summation orders, about √K · 2⁻²⁴ ≈ 3e-6 relative at K = 2048 each.
let expertGemmFloat32Tolerance = 1e-5

/// The per-expert bf16 GEMMs (`expertGemmBF16`: forward, data gradient, weight gradient; bf16 and
/// fp32 outputs; beta 0, 0.5 and 1) against the CPU backend's fp32 product of the same
/// bf16-rounded inputs, on awkward shapes (zero-row experts, sizes off every tile) and one X-MoE
/// Small-sized shape. Each runs twice (bit-identical required) and once per stream count (1, 2, 4:
/// must also be bit-identical, since each expert is one cuBLAS call whatever its stream).
func expertGemmChecks(gpu: CUDABackend, cpu: CPUBackend, random: inout CheckRandom, say: (String) -> Void) -> [String] {
    guard gpu.hasBF16Gemm else {
        say("FAIL expert GEMM: this cuBLAS has no cublasGemmEx")
        return ["expert gemm"]
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
        ([300, 0, 129, 77], 2048, 1408),
    ]
    for (counts, k, n) in cases {
        let rows = counts.reduce(0, +), e = counts.count
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        let kinds: [(String, ExpertGemmShape, ExpertGemmOutput, Float)] = [
            ("forward bf16", .rows(transB: false), .bfloat16, 0), ("forward fp32 beta 0.5", .rows(transB: false), .float32, 0.5),
            ("dgrad (transB) fp32", .rows(transB: true), .float32, 0), ("dgrad (transB) bf16 beta 1", .rows(transB: true), .bfloat16, 1),
            ("wgrad fp32 beta 1", .weightGradient, .float32, 1), ("wgrad fp32 beta 0", .weightGradient, .float32, 0),
            ("wgrad bf16 beta 0", .weightGradient, .bfloat16, 0),
        ]
        for (label, shape, output, beta) in kinds {
            let a = randomFloats(rows * k)
            let b = shape == .weightGradient ? randomFloats(rows * n) : randomFloats(e * k * n)
            let cCount = shape == .weightGradient ? e * k * n : rows * n
            let c0 = randomFloats(cCount)
            // The CPU backend's fp32 product of the same (bf16-valued) inputs.
            let reference: [Float]
            switch shape {
            case .rows(let transB):
                let cc = host(c0, [rows, n])
                cpu.groupedGemm(transB: transB, k: k, n: n, alpha: 1, a: host(a, [rows, k]), w: host(b, [e, transB ? n : k, transB ? k : n]),
                                beta: beta, c: cc, rowOffsets: offsets, rowCounts: counts)
                reference = cpu.downloadFloats(cc)
            case .weightGradient:
                let dW = host(c0.map { $0 * beta }, [e, k, n])
                cpu.groupedGemmWeightGrad(k: k, n: n, a: host(a, [rows, k]), dC: host(b, [rows, n]), dW: dW, rowOffsets: offsets, rowCounts: counts)
                reference = cpu.downloadFloats(dW)
            }
            let ga = bf16(a), gb = bf16(b)
            var results: [[Float]] = []
            for streams in [2, 2, 1, 4] {
                let got: [Float]
                switch output {
                case .float32:
                    let gc = device(c0)
                    gpu.expertGemmBF16(shape, k: k, n: n, a: ga.devicePointer, b: gb.devicePointer, beta: beta, c: gpu.deviceAddress(of: gc),
                                       output: .float32, rowOffsets: offsets, rowCounts: counts, streams: streams)
                    got = Array(gpu.downloadFloats(gc).prefix(cCount))
                case .bfloat16:
                    let gc = bf16(c0)
                    gpu.expertGemmBF16(shape, k: k, n: n, a: ga.devicePointer, b: gb.devicePointer, beta: beta, c: gc.devicePointer,
                                       output: .bfloat16, rowOffsets: offsets, rowCounts: counts, streams: streams)
                    let t = gpu.makeTensor([gc.count])
                    gpu.convert(gc, to: t)
                    got = Array(gpu.downloadFloats(t).prefix(cCount))
                }
                results.append(got)
            }
            let error = relativeError(.floats(results[0]), .floats(reference))
            let tolerance = output == .float32 ? expertGemmFloat32Tolerance : bf16Tolerance
            let identical = results.dropFirst().allSatisfy { zip($0, results[0]).allSatisfy { $0.bitPattern == $1.bitPattern } }
            let ok = error <= tolerance && identical
            let name = "expert gemm \(label) counts \(counts) k\(k) n\(n)"
            say("\(ok ? "ok  " : "FAIL") \(name.padding(toLength: 62, withPad: " ", startingAt: 0)) rel err \(format(error)) (≤ \(format(tolerance)))"
                + (identical ? "" : ", NOT bit-identical (2 runs on 2 streams, then 1 and 4 streams)"))
            if !ok { failures.append(name) }
        }
    }
    return failures
}
